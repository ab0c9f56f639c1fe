package schema

import (
	"regexp"
	"strings"
)

// The facts below follow serverless v3.40.0's config schema for the aws
// provider: the core keys (lib/config-schema.js), the provider's
// definitions, provider/function/layer/resources properties
// (lib/plugins/aws/provider.js), and each event plugin's definition
// (lib/plugins/aws/package/compile/events/**). They are written out again
// here as data, not translated code.

const (
	functionNamePattern = `^[a-zA-Z0-9-_]+$`
	stagePattern        = `^[a-zA-Z0-9-]+$`
	imageNamePattern    = `^[a-z][a-z0-9-_]{1,31}$`
	s3BucketPattern     = `(?!^(\d{1,3}\.){3}\d{1,3}$)(^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$)`
	tagKeyPattern       = `^(?!aws:)[\w./=+:\-_\x20]{1,128}$`
	schedulePattern     = `^rate\((?:1 (?:minute|hour|day)|(?:1\d+|[2-9]\d*) (?:minute|hour|day)s)\)$|^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`
	mqBrokerArnPattern  = `arn:[a-z-]+:mq:[a-z0-9-]+:\d+:broker:[A-Za-z0-9/_+=.@-]+:b-[a-z0-9-]+`
)

var (
	ipv4Like     = regexp.MustCompile(`^(\d{1,3}\.){3}\d{1,3}$`)
	bucketLabels = regexp.MustCompile(`^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$`)
	tagKeyChars  = regexp.MustCompile(`^[\w./=+:\-_ ]{1,128}$`)
)

// validBucketName is v3's S3 bucket name pattern, whose lookahead RE2 lacks.
func validBucketName(s string) bool { return !ipv4Like.MatchString(s) && bucketLabels.MatchString(s) }

func validTagKey(s string) bool { return !strings.HasPrefix(s, "aws:") && tagKeyChars.MatchString(s) }

// Runtimes are the Lambda runtimes v3.40.0 accepts.
var Runtimes = []any{
	"dotnet6", "go1.x", "java21", "java17", "java11", "java8", "java8.al2",
	"nodejs14.x", "nodejs16.x", "nodejs18.x", "nodejs20.x",
	"provided", "provided.al2", "provided.al2023",
	"python3.7", "python3.8", "python3.9", "python3.10", "python3.11",
	"ruby2.7", "ruby3.2",
}

// Regions are the values v3 accepts for provider.region.
var Regions = []any{
	"us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-iso-east-1", "us-iso-west-1",
	"us-isob-east-1", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-northeast-1",
	"ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1",
	"ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ca-central-1", "cn-north-1",
	"cn-northwest-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "sa-east-1",
}

type props = map[string]*Schema

func strArray() *Schema { return array(str()) }

func init() {
	defineCloudFormation()
	defineAWS()
	serviceSchema = defineRoot()
}

// defineCloudFormation holds intrinsic function shapes.
func defineCloudFormation() {
	d := definitions
	d["awsCfFunction"] = anyOf(ref("awsCfImport"), ref("awsCfJoin"), ref("awsCfGetAtt"), ref("awsCfRef"),
		ref("awsCfSub"), ref("awsCfBase64"), ref("awsCfToJsonString"))
	d["awsCfGetAtt"] = object(props{"Fn::GetAtt": array(str(minLen(1)), minItems(2), maxItems(2))}, required("Fn::GetAtt"))
	d["awsCfGetAZs"] = object(props{"Fn::GetAZs": oneOf(str(minLen(1)), ref("awsCfRef"))}, required("Fn::GetAZs"))
	d["awsCfImport"] = object(props{"Fn::ImportValue": any_()}, required("Fn::ImportValue"))
	d["awsCfImportLocallyResolvable"] = object(props{"Fn::ImportValue": str()}, required("Fn::ImportValue"))
	d["awsCfIf"] = object(props{"Fn::If": array(ref("awsCfInstruction"), minItems(3), maxItems(3))}, required("Fn::If"))
	d["awsCfInstruction"] = anyOf(str(minLen(1)), ref("awsCfFunction"))
	join := array(nil, minItems(2), maxItems(2))
	join.TupleItems = []*Schema{str(), array(nil)}
	d["awsCfJoin"] = object(props{"Fn::Join": join}, required("Fn::Join"))
	d["awsCfSelect"] = object(props{"Fn::Select": array(anyOf(number(), str(), array(nil),
		ref("awsCfFindInMap"), ref("awsCfGetAtt"), ref("awsCfGetAZs"), ref("awsCfIf"), ref("awsCfSplit"), ref("awsCfRef")),
		minItems(2), maxItems(2))}, required("Fn::Select"))
	d["awsCfRef"] = object(props{"Ref": str(minLen(1))}, required("Ref"))
	d["awsCfSplit"] = object(props{"Fn::Split": array(oneOf(str(), ref("awsCfFunction")), minItems(2), maxItems(2))}, required("Fn::Split"))
	d["awsCfFindInMap"] = object(props{"Fn::FindInMap": array(oneOf(str(), ref("awsCfFunction")), minItems(3), maxItems(3))}, required("Fn::FindInMap"))
	d["awsCfSub"] = object(props{"Fn::Sub": any_()}, required("Fn::Sub"))
	d["awsCfBase64"] = openObject(props{"Fn::Base64": any_()})
	d["awsCfToJsonString"] = object(props{"Fn::ToJsonString": anyOf(any_(typ("object")), any_(typ("array")))}, required("Fn::ToJsonString"))
	d["awsCfArrayInstruction"] = anyOf(array(ref("awsCfInstruction")), ref("awsCfSplit"))
}

func defineAWS() {
	d := definitions
	d["awsAccountId"] = str(pattern(`^\d{12}$`))
	d["awsAlbListenerArn"] = str(pattern(`^arn:aws[\w-]*:elasticloadbalancing:.+:listener\/app\/[\w-]+\/([\w-]+)\/([\w-]+)$`))
	d["awsAlexaEventToken"] = str(minLen(0), maxLen(256), pattern(`^[a-zA-Z0-9._\-]+$`))
	d["awsApiGatewayAbbreviatedArn"] = str(pattern(`^execute-api:/`))
	d["awsApiGatewayApiKeysProperties"] = object(props{
		"name": str(), "value": str(), "description": str(), "customerId": str(), "enabled": boolean(),
	})
	d["awsApiGatewayApiKeys"] = array(anyOf(str(), ref("awsApiGatewayApiKeysProperties"),
		mapOf(array(oneOf(str(), ref("awsApiGatewayApiKeysProperties"))), maxProps(1))))
	d["awsHttpApiPayload"] = str(func(s *Schema) { s.Enum = []any{"1.0", "2.0"} })
	d["awsArn"] = anyOf(ref("awsArnString"), ref("awsCfFunction"))
	d["awsArnString"] = str(pattern(`^arn:`), hint("Give an ARN (arn:aws:…) or a CloudFormation function such as !GetAtt Queue.Arn."))
	d["awsSecretsManagerArnString"] = str(pattern(`arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d+:secret:[A-Za-z0-9/_+=.@-]+`))
	d["awsIamPolicyAction"] = strArray()
	d["awsIamPolicyPrincipal"] = anyOf(constant("*"), object(props{
		"AWS":           anyOf(constant("*"), ref("awsCfIf"), array(anyOf(ref("awsAccountId"), ref("awsArn")))),
		"Federated":     strArray(),
		"Service":       strArray(),
		"CanonicalUser": strArray(),
	}))
	d["awsIamPolicyResource"] = anyOf(constant("*"), ref("awsArn"), ref("awsLogicalResourceId"),
		array(anyOf(constant("*"), ref("awsArn"), ref("awsLogicalResourceId"))))
	d["awsIamPolicyStatements"] = array(policyStatement("awsIamPolicyResource"))
	d["awsKmsArn"] = anyOf(ref("awsCfFunction"), str(pattern(`^arn:aws[a-z-]*:kms`)))
	d["awsLambdaArchitecture"] = enum("arm64", "x86_64")
	d["awsLambdaEnvironment"] = object(nil, patternProps(`^[A-Za-z_][a-zA-Z0-9_]*$`,
		anyOf(constant(""), ref("awsCfInstruction"), ref("awsCfIf"), ref("awsCfSelect"))))
	d["awsLambdaLayers"] = array(ref("awsArn"))
	d["awsLambdaMemorySize"] = integer(rng(128, 10240))
	d["awsLambdaRole"] = anyOf(str(minLen(1)), ref("awsCfSub"), ref("awsCfImport"), ref("awsCfGetAtt"))
	d["awsLambdaRuntime"] = enum(Runtimes...)
	d["awsLambdaRuntimeManagement"] = oneOf(enum("auto", "onFunctionUpdate"), object(props{
		"mode": enum("auto", "onFunctionUpdate", "manual"), "arn": ref("awsArn"),
	}))
	d["awsLambdaTimeout"] = integer(rng(1, 900))
	d["awsLambdaTracing"] = anyOf(enum("Active", "PassThrough"), boolean())
	d["awsLambdaVersioning"] = boolean()
	vpcIDs := func(n int) *Schema {
		return anyOf(array(anyOf(ref("awsCfInstruction"), ref("awsCfIf")), maxItems(n)), ref("awsCfSplit"), ref("awsCfFindInMap"))
	}
	d["awsLambdaVpcConfig"] = object(props{"securityGroupIds": vpcIDs(5), "subnetIds": vpcIDs(16)},
		required("securityGroupIds", "subnetIds"))
	d["awsLogicalResourceId"] = str(pattern(`^[#A-Za-z0-9-_./]+[*]?$`))
	d["awsLogGroupName"] = str(pattern(`^[/#A-Za-z0-9-_.]+$`))
	d["awsLogRetentionInDays"] = number(func(s *Schema) {
		s.Enum = []any{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 2192, 2557, 2922, 3288, 3653}
	})
	d["awsLogDataProtectionPolicy"] = object(props{
		"Name": str(), "Description": str(), "Version": str(), "Statement": array(nil),
	}, required("Name", "Version", "Statement"))
	d["awsResourceCondition"] = str()
	d["awsResourceDependsOn"] = strArray()
	d["awsResourcePolicyResource"] = anyOf(constant("*"), ref("awsArn"), ref("awsApiGatewayAbbreviatedArn"),
		array(anyOf(constant("*"), ref("awsArn"), ref("awsApiGatewayAbbreviatedArn"))))
	d["awsResourcePolicyStatements"] = array(policyStatement("awsResourcePolicyResource"))
	d["awsResourceTags"] = object(nil, patternPropsFunc(tagKeyPattern, validTagKey, str(maxLen(256))))
	d["awsS3BucketName"] = str(customPattern(s3BucketPattern, validBucketName), minLen(3), maxLen(63),
		hint("Bucket names use lower-case letters, digits, '.' and '-', start and end with a letter or digit, and are not IP addresses."))
	d["ecrImageUri"] = str(pattern(`^\d+\.dkr\.ecr\.[a-z0-9-]+..amazonaws.com\/([^@]+)|([^@:]+@sha256:[a-f0-9]{64})$`))
	d["filterPatterns"] = array(any_(typ("object")), minItems(1), maxItems(10))
	d["errorCode"] = str(pattern(`^[A-Z0-9_]+$`))
	d["functionName"] = str(pattern(functionNamePattern))
	d["serviceName"] = str(pattern(`^[a-zA-Z][0-9a-zA-Z-]+$`), hint("A service name starts with a letter and has only letters, digits and '-' (at least 2 characters)."))
	d["stage"] = str(pattern(stagePattern), hint("A stage name has only letters, digits and '-'."))
}

// policyStatement is one IAM statement: Effect, one of Action/NotAction and
// one of Resource/NotResource are required.
func policyStatement(resource string) *Schema {
	return object(props{
		"Sid": str(), "Effect": enum("Allow", "Deny"),
		"Action": ref("awsIamPolicyAction"), "NotAction": ref("awsIamPolicyAction"),
		"Principal": ref("awsIamPolicyPrincipal"), "NotPrincipal": ref("awsIamPolicyPrincipal"),
		"Resource": ref(resource), "NotResource": ref(resource),
		"Condition": any_(typ("object")),
	}, allOf(
		any_(required("Effect")),
		oneOf(any_(required("Action")), any_(required("NotAction"))),
		oneOf(any_(required("Resource")), any_(required("NotResource"))),
	))
}

var serviceSchema *Schema

func defineRoot() *Schema {
	return object(props{
		"configValidationMode":        enum("error", "warn", "off"),
		"console":                     anyOf(boolean(), any_(typ("object"))),
		"custom":                      openObject(nil),
		"dashboard":                   object(props{"disableMonitoring": boolean()}),
		"deprecationNotificationMode": enum("error", "warn", "warn:summary"),
		"disabledDeprecations":        anyOf(constant("*"), array(ref("errorCode"))),
		"frameworkVersion":            str(),
		"functions":                   object(nil, keyName("function name"), patternProps(functionNamePattern, functionSchema())),
		"package": object(props{
			"artifact": str(), "exclude": strArray(), "excludeDevDependencies": boolean(),
			"include": strArray(), "individually": boolean(), "path": str(), "patterns": strArray(),
		}),
		"params":                  object(nil, keyName("stage name"), patternProps(stagePattern, any_(typ("object")))),
		"plugins":                 anyOf(object(props{"localPath": str(), "modules": strArray()}, required("modules")), strArray()),
		"projectDir":              str(pattern(`^(\.\/?|(\.\/)?\.\.(\/\.\.)*\/?)$`)),
		"provider":                providerSchema(),
		"service":                 ref("serviceName"),
		"useDotenv":               constant(true),
		"variablesResolutionMode": str(func(s *Schema) { s.Enum = []any{"20210219", "20210326"} }),
		"resources":               resourcesSchema(),
		"layers":                  mapOf(layerSchema()),
		"org":                     str(pattern(`^[a-z0-9]{5,39}$`)),
		"app":                     str(pattern(`^[a-z0-9][a-z0-9-]{1,37}[a-z0-9]$`)),
		"outputs":                 mapOf(anyOf(str(), number(), boolean(), array(nil), any_(typ("object")))),
	}, required("provider", "service"))
}

func usagePlan() *Schema {
	return object(props{
		"quota":    object(props{"limit": integer(atLeast(0)), "offset": integer(atLeast(0)), "period": enum("DAY", "WEEK", "MONTH")}),
		"throttle": object(props{"burstLimit": integer(atLeast(0)), "rateLimit": integer(atLeast(0))}),
	})
}

func albAuthorizers() *Schema {
	base := func(p props) props {
		p["onUnauthenticatedRequest"] = enum("allow", "authenticate", "deny")
		p["requestExtraParams"] = mapOf(str(), maxProps(10))
		p["scope"] = str()
		p["sessionCookieName"] = str()
		p["sessionTimeout"] = integer(atLeast(0))
		return p
	}
	oidc := object(base(props{
		"type": constant("oidc"), "authorizationEndpoint": str(format("uri")), "clientId": str(), "clientSecret": str(),
		"issuer": str(format("uri")), "tokenEndpoint": str(format("uri")), "userInfoEndpoint": str(format("uri")),
	}), required("type", "authorizationEndpoint", "clientId", "issuer", "tokenEndpoint", "userInfoEndpoint"))
	cognito := object(base(props{
		"type": constant("cognito"), "userPoolArn": ref("awsArn"), "userPoolClientId": str(), "userPoolDomain": str(),
	}), required("type", "userPoolArn", "userPoolClientId", "userPoolDomain"))
	return mapOf(anyOf(oidc, cognito))
}

func providerSchema() *Schema {
	cfOrArray := anyOf(ref("awsCfInstruction"), array(ref("awsCfInstruction")))
	restLogs := object(props{
		"accessLogging": boolean(), "executionLogging": boolean(), "format": str(),
		"fullExecutionData": boolean(), "level": enum("INFO", "ERROR"),
		"role": ref("awsArn"), "roleManagedExternally": boolean(),
	})
	wsLogs := object(props{
		"accessLogging": boolean(), "executionLogging": boolean(), "format": str(),
		"fullExecutionData": boolean(), "level": enum("INFO", "ERROR"),
	})
	cookieCfg := object(props{"CookieBehavior": enum("none", "whitelist", "allExcept", "all"), "Cookies": strArray()}, required("CookieBehavior"))
	headersCfg := object(props{"HeaderBehavior": enum("none", "whitelist"), "Headers": strArray()}, required("HeaderBehavior"))
	queryCfg := object(props{"QueryStringBehavior": enum("none", "whitelist", "allExcept", "all"), "QueryStrings": strArray()}, required("QueryStringBehavior"))
	cachePolicy := object(props{
		"Comment": str(), "DefaultTTL": integer(atLeast(0)), "MaxTTL": integer(atLeast(0)), "MinTTL": integer(atLeast(0)),
		"ParametersInCacheKeyAndForwardedToOrigin": object(props{
			"CookiesConfig": cookieCfg, "EnableAcceptEncodingBrotli": boolean(), "EnableAcceptEncodingGzip": boolean(),
			"HeadersConfig": headersCfg, "QueryStringsConfig": queryCfg,
		}, required("CookiesConfig", "EnableAcceptEncodingGzip", "HeadersConfig", "QueryStringsConfig")),
	}, required("DefaultTTL", "MaxTTL", "MinTTL", "ParametersInCacheKeyAndForwardedToOrigin"))

	httpAPIAuthorizer := oneOf(
		object(props{
			"type": constant("jwt"), "name": str(), "identitySource": ref("awsCfInstruction"),
			"issuerUrl": ref("awsCfInstruction"), "audience": cfOrArray,
		}, required("identitySource", "issuerUrl", "audience")),
		openObject(props{
			"type": constant("request"), "name": str(), "functionName": str(), "functionArn": ref("awsCfInstruction"),
			"managedExternally": boolean(), "resultTtlInSeconds": integer(rng(0, 3600)),
			"enableSimpleResponses": boolean(), "payloadVersion": ref("awsHttpApiPayload"), "identitySource": cfOrArray,
		}, required("type")),
	)
	ecrImage := anyOf(object(props{
		"uri": ref("ecrImageUri"), "path": str(), "file": str(), "buildArgs": mapOf(str()),
		"cacheFrom": strArray(), "platform": str(),
	}), str())

	return object(props{
		"name": constant("aws"),
		"alb":  object(props{"targetGroupPrefix": str(maxLen(16)), "authorizers": albAuthorizers()}),
		"apiGateway": object(props{
			"apiKeys":                ref("awsApiGatewayApiKeys"),
			"apiKeySourceType":       caseInsensitive("HEADER", "AUTHORIZER"),
			"binaryMediaTypes":       array(str(pattern(`^\S+\/\S+$`))),
			"description":            str(),
			"disableDefaultEndpoint": boolean(),
			"metrics":                boolean(),
			"minimumCompressionSize": integer(rng(0, 10485760)),
			"resourcePolicy":         ref("awsResourcePolicyStatements"),
			"restApiId":              ref("awsCfInstruction"),
			"restApiResources": anyOf(array(object(props{"path": str(), "resourceId": str()})),
				any_(typ("object"))),
			"restApiRootResourceId": ref("awsCfInstruction"),
			"request": object(props{"schemas": mapOf(object(props{
				"schema": any_(typ("object")), "name": str(), "description": str(),
			}, required("schema")))}),
			"shouldStartNameWithService": boolean(),
			"stage":                      str(),
			"usagePlan":                  anyOf(usagePlan(), array(mapOf(usagePlan(), maxProps(1)))),
			"websocketApiId":             ref("awsCfInstruction"),
		}),
		"apiName":      str(),
		"architecture": ref("awsLambdaArchitecture"),
		"cfnRole":      ref("awsArn"),
		"cloudFront":   object(props{"cachePolicies": mapOf(cachePolicy)}),
		"deploymentBucket": anyOf(ref("awsS3BucketName"), object(props{
			"blockPublicAccess": boolean(), "skipPolicySetup": boolean(),
			"maxPreviousDeploymentArtifacts": integer(atLeast(0)), "name": ref("awsS3BucketName"),
			"versioning": boolean(), "serverSideEncryption": enum("AES256", "aws:kms"),
			"sseCustomerAlgorithim": str(), "sseCustomerKey": str(), "sseCustomerKeyMD5": str(),
			"sseKMSKeyId": str(), "tags": ref("awsResourceTags"),
		})),
		"deploymentPrefix": str(),
		"disableRollback":  boolean(),
		"endpointType":     caseInsensitive("REGIONAL", "EDGE", "PRIVATE"),
		"environment":      ref("awsLambdaEnvironment"),
		"eventBridge":      object(props{"useCloudFormation": boolean()}),
		"httpApi": object(props{
			"authorizers": mapOf(httpAPIAuthorizer),
			"cors": anyOf(boolean(), object(props{
				"allowCredentials": boolean(), "allowedHeaders": strArray(), "allowedMethods": strArray(),
				"allowedOrigins": strArray(), "exposedResponseHeaders": strArray(), "maxAge": integer(atLeast(0)),
			})),
			"id":                         anyOf(str(), ref("awsCfImportLocallyResolvable")),
			"name":                       str(),
			"payload":                    str(),
			"metrics":                    boolean(),
			"useProviderTags":            constant(true),
			"disableDefaultEndpoint":     boolean(),
			"shouldStartNameWithService": boolean(),
		}),
		"iam": object(props{
			"role": anyOf(ref("awsLambdaRole"), object(props{
				"name":                str(pattern(`^[A-Za-z0-9/_+=,.@-]{1,64}$`)),
				"path":                str(pattern(`(^\/$)|(^\/[\x21-\x7f]+\/$)`)),
				"managedPolicies":     array(ref("awsArn")),
				"statements":          ref("awsIamPolicyStatements"),
				"permissionBoundary":  ref("awsArn"),
				"permissionsBoundary": ref("awsArn"),
				"tags":                ref("awsResourceTags"),
			})),
			"deploymentRole": ref("awsArn"),
		}),
		"iamManagedPolicies": array(ref("awsArn")),
		"iamRoleStatements":  ref("awsIamPolicyStatements"),
		"ecr": object(props{
			"scanOnPush": boolean(),
			"images":     openObject(nil, patternProps(imageNamePattern, ecrImage)),
		}, required("images")),
		"kmsKeyArn":               ref("awsKmsArn"),
		"lambdaHashingVersion":    str(func(s *Schema) { s.Enum = []any{"20200924", "20201221"} }),
		"layers":                  ref("awsLambdaLayers"),
		"logRetentionInDays":      ref("awsLogRetentionInDays"),
		"logDataProtectionPolicy": ref("awsLogDataProtectionPolicy"),
		"logs": openObject(props{
			"frameworkLambda": boolean(),
			"httpApi":         anyOf(boolean(), object(props{"format": str()})),
			"restApi":         anyOf(boolean(), restLogs),
			"websocket":       anyOf(boolean(), wsLogs),
		}),
		"memorySize":              ref("awsLambdaMemorySize"),
		"notificationArns":        array(ref("awsArnString")),
		"profile":                 str(),
		"region":                  enum(Regions...),
		"role":                    ref("awsLambdaRole"),
		"rolePermissionsBoundary": ref("awsArnString"),
		"rollbackConfiguration": object(props{
			"RollbackTriggers": array(object(props{
				"Arn": ref("awsArnString"), "Type": constant("AWS::CloudWatch::Alarm"),
			}, required("Arn", "Type"))),
			"MonitoringTimeInMinutes": integer(atLeast(0)),
		}),
		"runtime":           ref("awsLambdaRuntime"),
		"runtimeManagement": ref("awsLambdaRuntimeManagement"),
		"deploymentMethod":  enum("changesets", "direct"),
		"s3":                mapOf(providerBucketSchema()),
		"stage":             ref("stage"),
		"stackName":         str(pattern(`^[a-zA-Z][a-zA-Z0-9-]*$`), maxLen(128)),
		"stackParameters": array(object(props{
			"ParameterKey": str(), "ParameterValue": str(), "UsePreviousValue": boolean(), "ResolvedValue": str(),
		})),
		"stackPolicy":                           ref("awsIamPolicyStatements"),
		"stackTags":                             ref("awsResourceTags"),
		"tags":                                  ref("awsResourceTags"),
		"timeout":                               ref("awsLambdaTimeout"),
		"tracing":                               object(props{"apiGateway": boolean(), "lambda": ref("awsLambdaTracing")}),
		"vpc":                                   ref("awsLambdaVpcConfig"),
		"vpcEndpointIds":                        ref("awsCfArrayInstruction"),
		"versionFunctions":                      ref("awsLambdaVersioning"),
		"websocket":                             object(props{"useProviderTags": boolean()}),
		"websocketsApiName":                     str(),
		"kinesis":                               object(props{"consumerNamingMode": constant("serviceSpecific")}),
		"websocketsApiRouteSelectionExpression": str(),
		"websocketsDescription":                 str(),
	}, required("name"))
}

// providerBucketSchema is one bucket under provider.s3: v3 spells out the
// CloudFormation bucket properties it passes through.
func providerBucketSchema() *Schema {
	keyValue := func() *Schema { return object(props{"Key": str(), "Value": str()}, required("Key", "Value")) }
	destination := func() *Schema {
		return object(props{
			"BucketAccountId": str(pattern(`\d{12}`)), "BucketArn": ref("awsArn"),
			"Format": enum("CSV", "ORC", "Parquet"), "Prefix": str(),
		}, required("BucketArn", "Format"))
	}
	storageClasses := []any{"DEEP_ARCHIVE", "GLACIER", "INTELLIGENT_TIERING", "ONEZONE_IA", "STANDARD_IA"}
	transition := func() *Schema {
		return object(props{"StorageClass": enum(storageClasses...), "TransitionInDays": integer(atLeast(0))},
			required("StorageClass", "TransitionInDays"))
	}
	notification := func(target string) *Schema {
		return object(props{
			"Event": str(pattern(`^s3:`)),
			"Filter": object(props{"S3Key": object(props{"Rules": array(object(props{
				"Name": enum("prefix", "suffix"), "Value": str(),
			}, required("Name", "Value")))}, required("Rules"))}, required("S3Key")),
			target: ref("awsArn"),
		}, required("Event", target))
	}
	statusEnum := func() *Schema { return enum("Disabled", "Enabled") }
	minutes := func() *Schema { return object(props{"Minutes": integer(atLeast(0))}, required("Minutes")) }
	lifecycleRule := object(props{
		"AbortIncompleteMultipartUpload":    object(props{"DaysAfterInitiation": integer(atLeast(0))}, required("DaysAfterInitiation")),
		"ExpirationDate":                    str(format("date-time")),
		"ExpirationInDays":                  anyOf(integer(atLeast(0)), ref("awsCfFunction"), ref("awsCfIf")),
		"Id":                                str(maxLen(255)),
		"NoncurrentVersionExpirationInDays": integer(atLeast(0)),
		"NoncurrentVersionTransition":       transition(),
		"NoncurrentVersionTransitions":      array(transition()),
		"Prefix":                            str(),
		"Status":                            statusEnum(),
		"TagFilters":                        array(keyValue()),
		"Transitions": array(object(props{
			"StorageClass": enum(storageClasses...), "TransitionDate": str(format("date-time")),
			"TransitionInDays": integer(atLeast(1)),
		}, required("StorageClass"))),
	}, required("Status"), withAnyOf(any_(required("AbortIncompleteMultipartUpload")), any_(required("ExpirationDate")),
		any_(required("ExpirationInDays")), any_(required("NoncurrentVersionExpirationInDays")),
		any_(required("NoncurrentVersionTransition")), any_(required("NoncurrentVersionTransitions")),
		any_(required("Transition")), any_(required("Transitions"))))
	replicationDestination := object(props{
		"AccessControlTranslation": object(props{"Owner": constant("Destination")}, required("Owner")),
		"Account":                  str(pattern(`^\d{12}$`)),
		"Bucket":                   ref("awsArn"),
		"EncryptionConfiguration":  object(props{"ReplicaKmsKeyID": str()}, required("ReplicaKmsKeyID")),
		"Metrics":                  object(props{"EventThreshold": minutes(), "Status": statusEnum()}, required("EventThreshold", "Status")),
		"ReplicationTime":          object(props{"Status": statusEnum(), "Time": minutes()}, required("Status", "Time")),
		"StorageClass": enum("DEEP_ARCHIVE", "GLACIER", "INTELLIGENT_TIERING", "ONEZONE_IA", "OUTPOSTS",
			"REDUCED_REDUNDANCY", "STANDARD", "STANDARD_IA"),
	}, required("Bucket"), dependencies("AccessControlTranslation", "Account"))
	return object(props{
		"accelerateConfiguration": object(props{"AccelerationStatus": enum("Enabled", "Suspended")}, required("AccelerationStatus")),
		"accessControl":           str(),
		"analyticsConfigurations": array(object(props{
			"Id": str(), "Prefix": str(),
			"StorageClassAnalysis": object(props{"DataExport": object(props{
				"Destination": destination(), "OutputSchemaVersion": constant("V_1"),
			}, required("Destination", "OutputSchemaVersion"))}),
			"TagFilters": array(keyValue()),
		}, required("Id", "StorageClassAnalysis"))),
		"bucketEncryption": object(props{"ServerSideEncryptionConfiguration": array(object(props{
			"ServerSideEncryptionByDefault": object(props{
				"KMSMasterKeyID": anyOf(ref("awsArn"), str(pattern(`^[a-f0-9-]+$`))),
				"SSEAlgorithm":   enum("AES256", "aws:kms"),
			}, required("SSEAlgorithm")),
			"BucketKeyEnabled": boolean(),
		}))}, required("ServerSideEncryptionConfiguration")),
		"bucketName": ref("awsS3BucketName"),
		"corsConfiguration": object(props{"CorsRules": array(object(props{
			"AllowedHeaders": strArray(), "AllowedMethods": array(enum("GET", "PUT", "HEAD", "POST", "DELETE")),
			"AllowedOrigins": strArray(), "ExposedHeaders": strArray(), "Id": str(maxLen(255)), "MaxAge": integer(atLeast(0)),
		}, required("AllowedMethods", "AllowedOrigins")), maxItems(100))}, required("CorsRules")),
		"inventoryConfigurations": array(object(props{
			"Destination": destination(), "Enabled": boolean(), "Id": str(),
			"IncludedObjectVersions": enum("All", "Current"), "OptionalFields": strArray(), "Prefix": str(),
			"ScheduleFrequency": enum("Daily", "Weekly"),
		}, required("Destination", "Enabled", "Id", "IncludedObjectVersions", "ScheduleFrequency"))),
		"lifecycleConfiguration": object(props{"Rules": array(lifecycleRule)}, required("Rules")),
		"loggingConfiguration": object(props{
			"DestinationBucketName": anyOf(ref("awsS3BucketName"), ref("awsCfFunction")), "LogFilePrefix": str(),
		}),
		"metricsConfigurations": array(object(props{"Id": str(), "Prefix": str(), "TagFilters": array(keyValue())}, required("Id"))),
		"name":                  ref("awsS3BucketName"),
		"notificationConfiguration": object(props{
			"LambdaConfigurations": array(notification("Function")),
			"QueueConfigurations":  array(notification("Queue")),
			"TopicConfigurations":  array(notification("Topic")),
		}),
		"objectLockConfiguration": object(props{
			"ObjectLockEnabled": constant("Enabled"),
			"Rule": object(props{"DefaultRetention": object(props{
				"Days": integer(atLeast(0)), "Mode": enum("COMPLIANCE", "GOVERNANCE"), "Years": integer(atLeast(0)),
			})}),
		}),
		"objectLockEnabled": boolean(),
		"publicAccessBlockConfiguration": object(props{
			"BlockPublicAcls": boolean(), "BlockPublicPolicy": boolean(),
			"IgnorePublicAcls": boolean(), "RestrictPublicBuckets": boolean(),
		}),
		"replicationConfiguration": object(props{
			"Role": ref("awsArn"),
			"Rules": array(object(props{
				"DeleteMarkerReplication": object(props{"Status": statusEnum()}),
				"Destination":             replicationDestination,
				"Filter": object(props{
					"And":       object(props{"Prefix": str(), "TagFilters": array(keyValue())}),
					"Prefix":    str(),
					"TagFilter": keyValue(),
				}),
				"Id": str(maxLen(255)), "Prefix": str(), "Priority": integer(),
				"SourceSelectionCriteria": object(props{
					"SseKmsEncryptedObjects": object(props{"Status": statusEnum()}, required("Status")),
				}, required("SseKmsEncryptedObjects")),
				"Status": statusEnum(),
			}, required("Destination", "Status")), minItems(1), maxItems(1000)),
		}, required("Role", "Rules")),
		"tags":                    array(keyValue()),
		"versioningConfiguration": object(props{"Status": enum("Enabled", "Suspended")}, required("Status")),
		"websiteConfiguration": object(props{
			"ErrorDocument": str(), "IndexDocument": str(),
			"RedirectAllRequestsTo": object(props{"HostName": str(), "Protocol": enum("http", "https")}, required("HostName")),
			"RoutingRules": array(object(props{
				"RedirectRule": object(props{
					"HostName": str(), "HttpRedirectCode": str(), "Protocol": enum("http", "https"),
					"ReplaceKeyPrefixWith": str(), "ReplaceKeyWith": str(),
				}),
				"RoutingRuleCondition": object(props{"HttpErrorCodeReturnedEquals": str(), "KeyPrefixEquals": str()}),
			}, required("RedirectRule"))),
		}),
	})
}

func functionSchema() *Schema {
	destination := anyOf(str(minLen(1)), object(props{
		"arn": ref("awsCfFunction"), "type": enum("function", "sns", "sqs", "eventBus"),
	}, required("arn", "type")))
	urlCors := object(props{
		"allowCredentials":       boolean(),
		"allowedHeaders":         array(str(), minItems(1), maxItems(100)),
		"allowedMethods":         array(str(), minItems(1), maxItems(6)),
		"allowedOrigins":         array(str(), minItems(1), maxItems(100)),
		"exposedResponseHeaders": array(str(), minItems(1), maxItems(100)),
		"maxAge":                 integer(atLeast(0)),
	})
	cfInt := func() *Schema { return anyOf(integer(atLeast(0)), ref("awsCfFunction"), ref("awsCfIf")) }
	return object(props{
		"name":                 str(),
		"events":               array(events(eventSchemas())),
		"architecture":         ref("awsLambdaArchitecture"),
		"awsKmsKeyArn":         ref("awsKmsArn"),
		"condition":            ref("awsResourceCondition"),
		"dependsOn":            ref("awsResourceDependsOn"),
		"description":          str(maxLen(256)),
		"destinations":         object(props{"onSuccess": destination, "onFailure": destination}),
		"disableLogs":          boolean(),
		"environment":          ref("awsLambdaEnvironment"),
		"ephemeralStorageSize": integer(rng(512, 10240)),
		"fileSystemConfig": object(props{
			"arn": anyOf(str(pattern(`^arn:aws[a-zA-Z-]*:elasticfilesystem:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-[1-9]{1}:[0-9]{12}:access-point/fsap-[a-f0-9]{17}$`)),
				ref("awsCfGetAtt"), ref("awsCfJoin"), ref("awsCfImport")),
			"localMountPath": str(pattern(`^/mnt/[a-zA-Z0-9-_.]+$`)),
		}, required("localMountPath", "arn")),
		"handler": str(),
		"image": anyOf(ref("ecrImageUri"), str(pattern(imageNamePattern)), object(props{
			"name": str(pattern(imageNamePattern)), "uri": ref("ecrImageUri"), "workingDirectory": str(),
			"command": strArray(), "entryPoint": strArray(),
		})),
		"kmsKeyArn":               ref("awsKmsArn"),
		"snapStart":               boolean(),
		"layers":                  ref("awsLambdaLayers"),
		"logRetentionInDays":      ref("awsLogRetentionInDays"),
		"logDataProtectionPolicy": ref("awsLogDataProtectionPolicy"),
		"maximumEventAge":         integer(rng(60, 21600)),
		"maximumRetryAttempts":    integer(rng(0, 2)),
		"memorySize":              ref("awsLambdaMemorySize"),
		"onError":                 anyOf(str(pattern(`^arn:aws[a-z-]*:sns`)), ref("awsCfFunction")),
		"package": object(props{
			"artifact": str(), "exclude": strArray(), "include": strArray(), "individually": boolean(), "patterns": strArray(),
		}),
		"provisionedConcurrency": cfInt(),
		"reservedConcurrency":    cfInt(),
		"role":                   ref("awsLambdaRole"),
		"runtime":                ref("awsLambdaRuntime"),
		"runtimeManagement":      ref("awsLambdaRuntimeManagement"),
		"tags":                   ref("awsResourceTags"),
		"timeout":                ref("awsLambdaTimeout"),
		"tracing":                ref("awsLambdaTracing"),
		"url": anyOf(boolean(), object(props{
			"authorizer": str(func(s *Schema) { s.Enum = []any{"aws_iam"} }),
			"cors":       anyOf(boolean(), urlCors),
			"invokeMode": str(func(s *Schema) { s.Enum = []any{"BUFFERED", "RESPONSE_STREAM"} }),
		})),
		"versionFunction": ref("awsLambdaVersioning"),
		"vpc":             ref("awsLambdaVpcConfig"),
		"httpApi":         object(props{"payload": ref("awsHttpApiPayload")}),
	})
}

func layerSchema() *Schema {
	return object(props{
		"allowedAccounts":         array(str(pattern(`^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)$`))),
		"compatibleArchitectures": array(ref("awsLambdaArchitecture"), maxItems(2)),
		"compatibleRuntimes":      array(ref("awsLambdaRuntime"), maxItems(15)),
		"description":             str(maxLen(256)),
		"licenseInfo":             str(maxLen(512)),
		"name": str(minLen(1), maxLen(140),
			pattern(`^((arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+)$`)),
		"package": object(props{"artifact": str(), "exclude": strArray(), "include": strArray(), "patterns": strArray()}),
		"path":    str(),
		"retain":  boolean(),
	})
}

func resourcesSchema() *Schema {
	obj := func() *Schema { return any_(typ("object")) }
	resource := object(props{
		"Type": str(), "Properties": obj(), "CreationPolicy": obj(), "DeletionPolicy": str(),
		"DependsOn": ref("awsResourceDependsOn"), "Metadata": obj(), "UpdatePolicy": obj(),
		"UpdateReplacePolicy": str(), "Condition": ref("awsResourceCondition"),
	}, required("Type"))
	extension := object(props{
		"Properties": obj(), "CreationPolicy": obj(), "DeletionPolicy": str(),
		"DependsOn": ref("awsResourceDependsOn"), "Metadata": obj(), "UpdatePolicy": obj(),
		"UpdateReplacePolicy": str(), "Condition": ref("awsResourceCondition"),
	})
	return object(props{
		"AWSTemplateFormatVersion": str(),
		"Conditions":               obj(),
		"Description":              str(),
		"Mappings":                 obj(),
		"Metadata":                 obj(),
		"Outputs":                  obj(),
		"Parameters":               obj(),
		"Resources": object(props{
			"Fn::Transform": object(props{"Name": str(), "Parameters": obj()}, required("Name")),
		}, keyName("resource logical ID"), patternProps(`^[a-zA-Z0-9]{1,255}$`, resource)),
		"Transform":  strArray(),
		"extensions": object(nil, keyName("resource logical ID"), patternProps(`^[a-zA-Z0-9]{1,255}$`, extension)),
	})
}
