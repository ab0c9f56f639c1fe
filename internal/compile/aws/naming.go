package aws

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// serverless v3's naming rules (lib/plugins/aws/lib/naming.js). Every
// logical ID the compilers emit goes through these so a stack deployed by
// v3 keeps its resources when Nimbus updates it.

var (
	nonAlphaNumeric = regexp.MustCompile(`[^0-9A-Za-z]`)
	pathVariable    = regexp.MustCompile(`\{(.*)\}`)
)

// UpperFirst upper-cases the first character only (lodash upperFirst).
func UpperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// capitalize is lodash capitalize: first character upper, the rest lower.
func capitalize(s string) string { return UpperFirst(strings.ToLower(s)) }

// NormalizeName is v3's normalizeName: upper-case the first letter.
func NormalizeName(s string) string { return UpperFirst(s) }

// NormalizeNameToAlphaNumericOnly drops every character outside
// [0-9A-Za-z], then upper-cases the first letter.
func NormalizeNameToAlphaNumericOnly(s string) string {
	return NormalizeName(nonAlphaNumeric.ReplaceAllString(s, ""))
}

// NormalizeResourceName is v3's getNormalizedResourceName (and
// getNormalizedFunctionName): "-" → "Dash", "_" → "Underscore", upperFirst.
// Other characters are kept as they are.
func NormalizeResourceName(s string) string {
	return NormalizeName(strings.ReplaceAll(strings.ReplaceAll(s, "-", "Dash"), "_", "Underscore"))
}

// NormalizeFunctionName is the F in every per-function logical ID.
func NormalizeFunctionName(key string) string { return NormalizeResourceName(key) }

// NormalizePathPart is v3's normalizePathPart: capitalize (lower-casing the
// rest), "-" → "Dash", "{x}" → "xVar", drop non-alphanumerics, upperFirst.
func NormalizePathPart(part string) string {
	s := capitalize(part)
	s = strings.ReplaceAll(s, "-", "Dash")
	s = pathVariable.ReplaceAllString(s, "${1}Var")
	s = nonAlphaNumeric.ReplaceAllString(s, "")
	return UpperFirst(s)
}

// NormalizePath normalizes each "/"-separated part and joins them:
// "users/{id}" → "UsersIdVar".
func NormalizePath(p string) string {
	parts := strings.Split(p, "/")
	var b strings.Builder
	for _, part := range parts {
		b.WriteString(NormalizePathPart(part))
	}
	return b.String()
}

// NormalizeMethodName is "GET" → "Get".
func NormalizeMethodName(m string) string { return NormalizeName(strings.ToLower(m)) }

// Per-function logical IDs.

func FunctionLogicalID(key string) string     { return NormalizeFunctionName(key) + "LambdaFunction" }
func LogGroupLogicalID(key string) string     { return NormalizeFunctionName(key) + "LogGroup" }
func LogGroupName(functionName string) string { return "/aws/lambda/" + functionName }
func FunctionURLLogicalID(key string) string  { return NormalizeFunctionName(key) + "LambdaFunctionUrl" }
func FunctionURLOutputLogicalID(key string) string {
	return NormalizeFunctionName(key) + "LambdaFunctionUrl"
}
func FunctionURLPermissionLogicalID(key string) string {
	return NormalizeFunctionName(key) + "LambdaPermissionFnUrl"
}
func EventInvokeConfigLogicalID(key string) string {
	return NormalizeFunctionName(key) + "LambdaEvConf"
}
func VersionLogicalID(key, sha string) string {
	return NormalizeFunctionName(key) + "LambdaVersion" + nonAlphaNumeric.ReplaceAllString(sha, "")
}
func VersionOutputLogicalID(key string) string { return FunctionLogicalID(key) + "QualifiedArn" }
func ProvisionedConcurrencyAliasLogicalID(key string) string {
	return NormalizeFunctionName(key) + "ProvConcLambdaAlias"
}
func SnapStartAliasLogicalID(key string) string {
	return NormalizeFunctionName(key) + "SnapStartLambdaAlias"
}

const (
	ProvisionedConcurrencyAliasName = "provisioned"
	SnapStartAliasName              = "snapstart"
	RoleLogicalID                   = "IamRoleLambdaExecution"
	DeploymentBucketLogicalID       = "ServerlessDeploymentBucket"
	DeploymentBucketPolicyLogicalID = "ServerlessDeploymentBucketPolicy"
	DeploymentBucketOutputLogicalID = "ServerlessDeploymentBucketName"
	RestAPILogicalID                = "ApiGatewayRestApi"
	APIGatewayStageLogicalID        = "ApiGatewayStage"
	APIGatewayLogGroupLogicalID     = "ApiGatewayLogGroup"
	HTTPAPILogicalID                = "HttpApi"
	HTTPAPIStageLogicalID           = "HttpApiStage"
	HTTPAPILogGroupLogicalID        = "HttpApiLogGroup"
	WebsocketsAPILogicalID          = "WebsocketsApi"
	WebsocketsStageLogicalID        = "WebsocketsDeploymentStage"
	WebsocketsLogGroupLogicalID     = "WebsocketsLogGroup"
	CustomResourcesRoleLogicalID    = "IamRoleCustomResourcesLambdaExecution"
	CustomResourcesArtifactName     = "custom-resources.zip"
)

// Layers.

func LayerLogicalID(key string) string { return NormalizeResourceName(key) + "LambdaLayer" }
func LayerPermissionLogicalID(key, account string) string {
	return NormalizeResourceName(key) + strings.Replace(account, "*", "Wild", 1) + "LambdaLayerPermission"
}
func LayerOutputLogicalID(key string) string      { return LayerLogicalID(key) + "QualifiedArn" }
func LayerHashOutputLogicalID(key string) string  { return LayerLogicalID(key) + "Hash" }
func LayerS3KeyOutputLogicalID(key string) string { return LayerLogicalID(key) + "S3Key" }

// Permissions, one helper per event source so IDs match v3 exactly.

func LambdaPermissionLogicalID(key, suffix string) string {
	return NormalizeFunctionName(key) + "LambdaPermission" + suffix
}
func APIGatewayPermissionLogicalID(key string) string {
	return LambdaPermissionLogicalID(key, "ApiGateway")
}
func HTTPAPIPermissionLogicalID(key string) string { return LambdaPermissionLogicalID(key, "HttpApi") }
func WebsocketsPermissionLogicalID(key string) string {
	return LambdaPermissionLogicalID(key, "Websockets")
}
func SchedulePermissionLogicalID(key string, n int) string {
	return LambdaPermissionLogicalID(key, "EventsRuleSchedule"+itoa(n))
}
func CloudWatchEventPermissionLogicalID(key string, n int) string {
	return LambdaPermissionLogicalID(key, "EventsRuleCloudWatchEvent"+itoa(n))
}
func CloudWatchLogPermissionLogicalID(key string) string {
	return LambdaPermissionLogicalID(key, "LogsSubscriptionFilterCloudWatchLog")
}
func S3PermissionLogicalID(key, bucket string) string {
	return LambdaPermissionLogicalID(key, NormalizeNameToAlphaNumericOnly(bucket)+"S3")
}
func SNSPermissionLogicalID(key, topic string) string {
	return LambdaPermissionLogicalID(key, NormalizeNameToAlphaNumericOnly(topic)+"SNS")
}
func IotPermissionLogicalID(key string, n int) string {
	return LambdaPermissionLogicalID(key, "IotTopicRule"+itoa(n))
}
func AlexaSkillPermissionLogicalID(key string, n int) string {
	s := "0"
	if n != 0 {
		s = itoa(n)
	}
	return LambdaPermissionLogicalID(key, "AlexaSkill"+s)
}
func AlexaSmartHomePermissionLogicalID(key string, n int) string {
	return LambdaPermissionLogicalID(key, "AlexaSmartHome"+itoa(n))
}
func CognitoUserPoolPermissionLogicalID(key, pool, trigger string) string {
	return LambdaPermissionLogicalID(key, "CognitoUserPool"+NormalizeNameToAlphaNumericOnly(pool)+
		"TriggerSource"+NormalizeNameToAlphaNumericOnly(trigger))
}
func AlbPermissionLogicalID(key string) string { return LambdaPermissionLogicalID(key, "Alb") }
func RegisterTargetPermissionLogicalID(key string) string {
	return LambdaPermissionLogicalID(key, "RegisterTarget")
}
func EventBridgePermissionLogicalID(key string, n int) string {
	return NormalizeFunctionName(key) + "EventBridgeLambdaPermission" + itoa(n)
}
func HTTPAPIAuthorizerPermissionLogicalID(authorizer string) string {
	return NormalizeResourceName(authorizer) + "LambdaAuthorizerPermissionHttpApi"
}

// Event resources.

func ScheduleLogicalID(key string, n int) string {
	return NormalizeFunctionName(key) + "EventsRuleSchedule" + itoa(n)
}
func SchedulerScheduleLogicalID(key string, n int) string {
	return NormalizeFunctionName(key) + "SchedulerSchedule" + itoa(n)
}
func CloudWatchEventLogicalID(key string, n int) string {
	return NormalizeFunctionName(key) + "EventsRuleCloudWatchEvent" + itoa(n)
}
func CloudWatchLogLogicalID(key string, n int) string {
	return NormalizeFunctionName(key) + "LogsSubscriptionFilterCloudWatchLog" + itoa(n)
}
func IotLogicalID(key string, n int) string {
	return NormalizeFunctionName(key) + "IotTopicRule" + itoa(n)
}
func QueueLogicalID(key, queue string) string {
	return NormalizeFunctionName(key) + "EventSourceMappingSQS" + NormalizeNameToAlphaNumericOnly(queue)
}
func StreamLogicalID(key, streamType, stream string) string {
	return NormalizeFunctionName(key) + "EventSourceMapping" + NormalizeName(streamType) +
		NormalizeNameToAlphaNumericOnly(stream)
}
func StreamConsumerLogicalID(consumerName string) string {
	return NormalizeResourceName(consumerName) + "StreamConsumer"
}
func BucketLogicalID(bucket string) string {
	return "S3Bucket" + NormalizeNameToAlphaNumericOnly(bucket)
}
func TopicLogicalID(topic string) string { return "SNSTopic" + NormalizeNameToAlphaNumericOnly(topic) }
func SNSSubscriptionLogicalID(key, topic string) string {
	return NormalizeFunctionName(key) + "SnsSubscription" + NormalizeNameToAlphaNumericOnly(topic)
}
func TopicDLQPolicyLogicalID(key, topic string) string {
	return NormalizeNameToAlphaNumericOnly(topic) + "To" + NormalizeFunctionName(key) + "DLQPolicy"
}
func CognitoUserPoolLogicalID(pool string) string {
	return "CognitoUserPool" + NormalizeNameToAlphaNumericOnly(pool)
}
func MSKEventLogicalID(key, cluster, topic string) string {
	return NormalizeFunctionName(key) + "EventSourceMappingMSK" +
		truncate(NormalizeNameToAlphaNumericOnly(cluster), 79) + truncate(NormalizeNameToAlphaNumericOnly(topic), 79)
}
func KafkaEventLogicalID(key, topic string) string {
	return NormalizeFunctionName(key) + "EventSourceMappingKafka" + truncate(NormalizeNameToAlphaNumericOnly(topic), 158)
}
func ActiveMQEventLogicalID(key, queue string) string {
	return NormalizeFunctionName(key) + "EventSourceMappingActiveMQ" + truncate(NormalizeNameToAlphaNumericOnly(queue), 150)
}
func RabbitMQEventLogicalID(key, queue string) string {
	return NormalizeFunctionName(key) + "EventSourceMappingRabbitMQ" + truncate(NormalizeNameToAlphaNumericOnly(queue), 150)
}
func AlbTargetGroupLogicalID(key, albID string, multiValue bool) string {
	mv := ""
	if multiValue {
		mv = "MultiValue"
	}
	return NormalizeFunctionName(key) + "Alb" + mv + "TargetGroup" + albID
}
func AlbListenerRuleLogicalID(key string, n int) string {
	return NormalizeFunctionName(key) + "AlbListenerRule" + itoa(n)
}
func EventBridgeEventBusLogicalID(bus string) string {
	return NormalizeResourceName(bus) + "EventBridgeEventBus"
}
func EventBridgeRuleLogicalID(rule string) string {
	return NormalizeNameToAlphaNumericOnly(rule) + "EventBridgeRule"
}
func CustomS3ResourceLogicalID(key string) string { return NormalizeFunctionName(key) + "CustomS31" }
func CustomCognitoUserPoolResourceLogicalID(key string) string {
	return NormalizeFunctionName(key) + "CustomCognitoUserPool1"
}
func CustomEventBridgeResourceLogicalID(key string, n int) string {
	return NormalizeFunctionName(key) + "CustomEventBridge" + itoa(n)
}

// CustomResourceFunctionLogicalID is the Lambda of one of v3's bundled
// custom resources, e.g. "custom-resource-existing-s3".
func CustomResourceFunctionLogicalID(name string) string {
	return FunctionLogicalID(NormalizeResourceName(name))
}

// REST API (API Gateway v1).

func APIGatewayDeploymentLogicalID(instanceID string) string {
	return "ApiGatewayDeployment" + instanceID
}
func ResourceLogicalID(path string) string { return "ApiGatewayResource" + NormalizePath(path) }
func MethodLogicalID(resourceID, method string) string {
	return "ApiGatewayMethod" + resourceID + NormalizeMethodName(method)
}
func AuthorizerLogicalID(name string) string {
	return NormalizeResourceName(name) + "ApiGatewayAuthorizer"
}
func APIKeyLogicalID(n int, name string) string {
	if name != "" {
		return "ApiGatewayApiKey" + NormalizeName(name) + itoa(n)
	}
	return "ApiGatewayApiKey" + itoa(n)
}
func UsagePlanLogicalID(name string) string {
	if name != "" {
		return "ApiGatewayUsagePlan" + NormalizeName(name)
	}
	return "ApiGatewayUsagePlan"
}
func UsagePlanKeyLogicalID(n int, name string) string {
	if name != "" {
		return "ApiGatewayUsagePlanKey" + NormalizeName(name) + itoa(n)
	}
	return "ApiGatewayUsagePlanKey" + itoa(n)
}
func RequestValidatorLogicalID(service string) string {
	return "ApiGateway" + NormalizeNameToAlphaNumericOnly(service) + "RequestValidator"
}

// HTTP API (API Gateway v2).

func HTTPAPIIntegrationLogicalID(key string) string {
	return "HttpApiIntegration" + NormalizeFunctionName(key)
}
func HTTPAPIRouteLogicalID(routeKey string) string {
	if routeKey == "*" {
		return "HttpApiRouteDefault"
	}
	return "HttpApiRoute" + NormalizePath(routeKey)
}
func HTTPAPIAuthorizerLogicalID(name string) string {
	return "HttpApiAuthorizer" + NormalizeResourceName(name)
}

// WebSockets.

// NormalizeWebsocketsRouteKey is "$connect" → "Sconnect", "/" → "Slash"…
func NormalizeWebsocketsRouteKey(route string) string {
	return strings.NewReplacer("$", "S", "/", "Slash", "-", "Dash", "_", "Underscore", ".", "Period").Replace(route)
}
func WebsocketsRouteLogicalID(route string) string {
	return NormalizeWebsocketsRouteKey(route) + "WebsocketsRoute"
}
func WebsocketsRouteResponseLogicalID(route string) string {
	return WebsocketsRouteLogicalID(route) + "Response"
}
func WebsocketsIntegrationLogicalID(key string) string {
	return NormalizeFunctionName(key) + "WebsocketsIntegration"
}
func WebsocketsDeploymentLogicalID(sha string) string {
	return "WebsocketsDeployment" + nonAlphaNumeric.ReplaceAllString(sha, "")
}
func WebsocketsAuthorizerLogicalID(key string) string {
	return NormalizeResourceName(key) + "WebsocketsAuthorizer"
}

// Names (not logical IDs) that depend on the service.

// StackName is provider.stackName when it is a string, else service-stage.
func StackName(c *Context) string { return c.Svc.StackName() }

// APIGatewayName is provider.apiName, else stage-service (or service-stage
// with apiGateway.shouldStartNameWithService).
func APIGatewayName(c *Context) string {
	prov := c.Svc.Provider.Raw
	if n := prov.Get("apiName"); n != nil && n.Scalar0() != "" {
		return n.Scalar0()
	}
	if prov.Get("apiGateway").Get("shouldStartNameWithService").Truthy() {
		return c.Svc.Name + "-" + c.Svc.Stage
	}
	return c.Svc.Stage + "-" + c.Svc.Name
}

// HTTPAPIName is provider.httpApi.name, else like APIGatewayName with
// httpApi.shouldStartNameWithService.
func HTTPAPIName(c *Context) string {
	h := c.Svc.Provider.Raw.Get("httpApi")
	if n := h.Get("name"); n != nil && n.Scalar0() != "" {
		return n.Scalar0()
	}
	if h.Get("shouldStartNameWithService").Truthy() {
		return c.Svc.Name + "-" + c.Svc.Stage
	}
	return c.Svc.Stage + "-" + c.Svc.Name
}

// HTTPAPILogGroupName is /aws/http-api/<stackName>.
func HTTPAPILogGroupName(c *Context) string { return "/aws/http-api/" + StackName(c) }

// WebsocketsAPIName is provider.websocketsApiName, else stage-service-websockets.
func WebsocketsAPIName(c *Context) string {
	if n := c.Svc.Provider.Raw.Get("websocketsApiName"); n != nil {
		if s, ok := n.Str(); ok && s != "" {
			return s
		}
	}
	return c.Svc.Stage + "-" + c.Svc.Name + "-websockets"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
