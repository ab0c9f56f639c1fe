package aws

// rabbitmq events: Amazon MQ (RabbitMQ) event source mappings with an
// optional virtual host (v3 events/rabbitmq.js), compiled like activemq.

func init() { registerEvent(orderRabbitMQ, compileRabbitMQ, "rabbitmq") }

func compileRabbitMQ(c *Context) {
	compileMQ(c, "rabbitmq", RabbitMQEventLogicalID, true)
}
