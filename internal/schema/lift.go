package schema

import (
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/lift"
)

// constructIDPattern is the key pattern lift accepts under constructs.
const constructIDPattern = `^[a-zA-Z0-9-_]+$`

// rootSchemaFor is the schema a service is checked against: v3's, plus
// the top-level properties serverless-lift defines (lift, constructs,
// providers) when the service lists the plugin. Each construct is checked
// against its type's schema, as lift's oneOf over construct types picks
// the one whose type constant matches; a type Nimbus does not know only
// needs to be an object with a type here, and the lift expansion reports
// it precisely.
func rootSchemaFor(root *config.Node) *Schema {
	if !lift.Enabled(root) {
		return serviceSchema
	}
	s := *serviceSchema
	s.Properties = make(props, len(serviceSchema.Properties)+3)
	for k, v := range serviceSchema.Properties {
		s.Properties[k] = v
	}
	s.Properties["lift"] = object(props{"automaticPermissions": boolean()})
	s.Properties["providers"] = object(nil, patternProps(constructIDPattern,
		openObject(props{"type": str()}, required("type"))))
	constructs := object(nil, patternProps(constructIDPattern, openObject(props{
		"type": str(), "provider": str(), "extensions": any_(typ("object")),
	}, required("type"))))
	constructs.Properties = props{}
	for _, p := range root.Get("constructs").Entries() {
		switch p.Value.Get("type").Scalar0() {
		case "queue":
			constructs.Properties[p.Key] = liftQueueSchema()
		case "storage":
			constructs.Properties[p.Key] = liftStorageSchema()
		case "webhook":
			constructs.Properties[p.Key] = liftWebhookSchema()
		case lift.DatabaseType:
			constructs.Properties[p.Key] = liftDatabaseSchema()
		case lift.ServerSideWebsiteType:
			constructs.Properties[p.Key] = liftServerSideWebsiteSchema()
		case lift.StaticWebsiteType, lift.SinglePageAppType:
			constructs.Properties[p.Key] = liftWebsiteSchema(p.Value.Get("type").Scalar0())
		case lift.VpcType:
			constructs.Properties[p.Key] = liftVpcSchema()
		}
	}
	s.Properties["constructs"] = constructs
	return &s
}

// liftConstruct is a construct type's definition: its options, and the
// type, provider and extensions every construct takes.
func liftConstruct(constructType string, options props, opts ...option) *Schema {
	options["type"] = constant(constructType)
	options["provider"] = str()
	options["extensions"] = any_(typ("object"))
	return object(options, opts...)
}

// liftQueueSchema is lift's queue construct definition.
func liftQueueSchema() *Schema {
	return liftConstruct("queue", props{
		"worker":            oneOf(str(), openObject(props{"timeout": number()})),
		"maxRetries":        number(),
		"alarm":             str(),
		"batchSize":         number(rng(1, 10000)),
		"maxBatchingWindow": number(rng(0, 300)),
		"maxConcurrency":    number(rng(2, 1000)),
		"fifo":              boolean(),
		"delay":             number(),
		"encryption":        str(),
		"encryptionKey":     str(),
	}, required("worker"))
}

// liftStorageSchema is lift's storage construct definition.
func liftStorageSchema() *Schema {
	return liftConstruct("storage", props{
		"archive":        number(atLeast(30)),
		"encryption":     anyOf(constant("s3"), constant("kms")),
		"allowAcl":       boolean(),
		"publicPath":     str(),
		"cors":           anyOf(array(any_(typ("object"))), str()),
		"lifecycleRules": array(any_(typ("object"))),
	})
}

// liftWebhookSchema is lift's webhook construct definition.
func liftWebhookSchema() *Schema {
	return liftConstruct("webhook", props{
		"authorizer": openObject(props{"handler": str()}, required("handler")),
		"insecure":   boolean(),
		"path":       str(),
		"eventType":  str(),
		"method":     enum("POST", "PUT", "PATCH"),
	}, required("path"))
}

// liftDatabaseSchema is lift's database/dynamodb-single-table construct
// definition.
func liftDatabaseSchema() *Schema {
	return liftConstruct(lift.DatabaseType, props{
		"localSecondaryIndexes": boolean(),
		"gsiCount":              integer(rng(1, 20)),
	})
}

// liftWebsiteSchema is the definition lift's static-website and
// single-page-app constructs share.
func liftWebsiteSchema(construct string) *Schema {
	return liftConstruct(construct, props{
		"path":                 str(),
		"domain":               anyOf(str(), array(str())),
		"certificate":          str(),
		"security":             object(props{"allowIframe": boolean()}),
		"errorPage":            str(),
		"redirectToMainDomain": boolean(),
		"versionedAssets":      boolean(),
	}, required("path"))
}

// liftServerSideWebsiteSchema is lift's server-side-website construct
// definition.
func liftServerSideWebsiteSchema() *Schema {
	return liftConstruct(lift.ServerSideWebsiteType, props{
		"apiGateway":           enum("http", "rest"),
		"assets":               mapOf(str(), propertyNames(str(pattern("^/.*$"))), minProps(1)),
		"errorPage":            str(),
		"versionedAssets":      boolean(),
		"domain":               anyOf(str(), array(str())),
		"redirectToMainDomain": boolean(),
		"certificate":          str(),
		"forwardedHeaders":     array(str()),
	})
}

// liftVpcSchema is lift's vpc construct definition: it has no options.
func liftVpcSchema() *Schema {
	return liftConstruct(lift.VpcType, props{})
}
