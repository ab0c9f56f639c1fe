package schema

const scheduleHint = "A schedule is rate(1 minute), rate(5 minutes) (plural above 1) or cron(0 12 * * ? *) with six fields."

// eventSchemas are the function event types v3.40.0 knows, each with the
// shape of its configuration.
func eventSchemas() map[string]*Schema {
	mqArn := anyOf(str(pattern(mqBrokerArnPattern)), ref("awsCfImport"), ref("awsCfRef"))
	secretArn := anyOf(ref("awsSecretsManagerArnString"), ref("awsCfImport"), ref("awsCfRef"))
	batchSize := func() *Schema { return number(rng(1, 10000)) }
	batchWindow := func() *Schema { return number(rng(0, 300)) }
	startingPosition := func() *Schema {
		return str(func(s *Schema) { s.Enum = []any{"LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"} })
	}
	consumerGroup := func() *Schema { return str(pattern(`[a-zA-Z0-9-/*:_+=.@-]*`), maxLen(200)) }
	inputTransformer := func(pathsMap *Schema) *Schema {
		return object(props{
			"inputPathsMap": pathsMap, "inputTemplate": str(minLen(1), maxLen(8192)),
		}, required("inputTemplate"))
	}
	alexa := anyOf(ref("awsAlexaEventToken"), object(props{
		"appId": ref("awsAlexaEventToken"), "enabled": boolean(),
	}, required("appId")))
	secretArns := func() *Schema { return array(ref("awsSecretsManagerArnString"), minItems(1)) }
	streamArn := anyOf(ref("awsArnString"), ref("awsCfFunction"))

	return map[string]*Schema{
		"activemq": object(props{
			"arn": mqArn, "basicAuthArn": secretArn, "batchSize": batchSize(),
			"maximumBatchingWindow": batchWindow(), "enabled": boolean(), "queue": str(),
			"filterPatterns": ref("filterPatterns"),
		}, required("basicAuthArn", "arn", "queue")),
		"alb":            albEvent(),
		"alexaSkill":     alexa,
		"alexaSmartHome": alexa,
		"http":           httpEvent(),
		"cloudFront":     cloudFrontEvent(),
		"cloudwatchEvent": object(props{
			"event": any_(typ("object")), "input": anyOf(str(maxLen(8192)), any_(typ("object"))),
			"inputPath": str(minLen(1), maxLen(256)), "inputTransformer": inputTransformer(mapOf(str(minLen(1)))),
			"description": str(maxLen(512)), "name": str(pattern(`[a-zA-Z0-9-_.]+`), minLen(1), maxLen(64)),
			"enabled": boolean(),
		}),
		"cloudwatchLog": anyOf(ref("awsLogGroupName"), object(props{
			"logGroup": ref("awsLogGroupName"), "filter": str(),
		}, required("logGroup"))),
		"cognitoUserPool": object(props{
			"pool": str(pattern(`^[\w\s+=,.@-]+$`), maxLen(128)),
			"trigger": enum("PreSignUp", "PostConfirmation", "PreAuthentication", "PostAuthentication",
				"PreTokenGeneration", "CustomMessage", "DefineAuthChallenge", "CreateAuthChallenge",
				"VerifyAuthChallengeResponse", "UserMigration", "CustomSMSSender", "CustomEmailSender"),
			"existing": boolean(), "forceDeploy": boolean(), "kmsKeyId": ref("awsKmsArn"),
		}, required("pool", "trigger")),
		"eventBridge": eventBridgeEvent(inputTransformer(mapOf(str(minLen(1))))),
		"httpApi": anyOf(str(jsRegexp(`^(?:\*|(ANY|GET|POST|PUT|PATCH|OPTIONS|HEAD|DELETE) (\/\S*))$`, true)), object(props{
			"authorizer": anyOf(str(), object(props{
				"id": anyOf(str(), ref("awsCfFunction")), "name": str(), "scopes": strArray(),
				"type": str(func(s *Schema) { s.Enum = []any{"request", "jwt", "aws_iam"} }),
			}, withAnyOf(any_(required("id")), any_(required("name")), any_(required("type"))))),
			"method": str(jsRegexp(`^(?:\*|ANY|GET|POST|PUT|PATCH|OPTIONS|HEAD|DELETE)$`, true)),
			"path":   str(jsRegexp(`^(?:\*|\/\S*)$`, false)),
		}, required("path"))),
		"iotFleetProvisioning": object(props{
			"enabled": boolean(), "provisioningRoleArn": ref("awsArn"),
			"templateBody": any_(typ("object")), "templateName": str(),
		}, required("templateBody", "provisioningRoleArn")),
		"iot": object(props{
			"sql": str(), "sqlVersion": str(func(s *Schema) { s.Enum = []any{"2015-10-08", "2016-03-23", "beta"} }),
			"name": str(), "enabled": boolean(), "description": str(),
		}, required("sql")),
		"kafka": object(props{
			"accessConfigurations": object(props{
				"vpcSubnet":                array(str(pattern(`subnet-[a-z0-9]+`)), minItems(1)),
				"vpcSecurityGroup":         array(str(pattern(`sg-[a-z0-9]+`)), minItems(1)),
				"saslPlainAuth":            secretArns(),
				"saslScram256Auth":         secretArns(),
				"saslScram512Auth":         secretArns(),
				"clientCertificateTlsAuth": secretArns(),
				"serverRootCaCertificate":  secretArns(),
			}, minProps(1)),
			"batchSize": batchSize(), "maximumBatchingWindow": batchWindow(), "enabled": boolean(),
			"bootstrapServers": array(str(), minItems(1)), "startingPosition": startingPosition(),
			"startingPositionTimestamp": number(), "topic": str(), "consumerGroupId": consumerGroup(),
			"filterPatterns": ref("filterPatterns"),
		}, required("accessConfigurations", "bootstrapServers", "topic")),
		"msk": object(props{
			"arn":       anyOf(ref("awsArnString"), ref("awsCfImport"), ref("awsCfRef")),
			"batchSize": batchSize(), "maximumBatchingWindow": batchWindow(), "enabled": boolean(),
			"startingPosition": startingPosition(), "startingPositionTimestamp": number(), "topic": str(),
			"saslScram512": ref("awsArnString"), "consumerGroupId": consumerGroup(),
			"filterPatterns": ref("filterPatterns"),
		}, required("arn", "topic")),
		"rabbitmq": object(props{
			"arn": mqArn, "basicAuthArn": secretArn, "batchSize": batchSize(),
			"maximumBatchingWindow": batchWindow(), "enabled": boolean(), "queue": str(),
			"virtualHost": str(), "filterPatterns": ref("filterPatterns"),
		}, required("basicAuthArn", "arn", "queue")),
		"s3": anyOf(str(), object(props{
			"bucket":      anyOf(str(), ref("awsCfFunction"), ref("awsCfIf")),
			"event":       str(pattern(`^s3:.+$`)),
			"existing":    boolean(),
			"forceDeploy": boolean(),
			"rules": array(object(props{
				"prefix": anyOf(str(), ref("awsCfFunction")), "suffix": anyOf(str(), ref("awsCfFunction")),
			}, maxProps(1))),
		}, required("bucket"))),
		"schedule": anyOf(str(pattern(schedulePattern), hint(scheduleHint)), object(props{
			"rate":             array(anyOf(ref("awsCfFunction"), str(pattern(schedulePattern), hint(scheduleHint))), minItems(1)),
			"enabled":          boolean(),
			"name":             str(pattern(`[\.\-_A-Za-z0-9]+`), minLen(1), maxLen(64)),
			"description":      str(maxLen(512)),
			"input":            anyOf(str(maxLen(8192)), any_(typ("object"))),
			"inputPath":        str(maxLen(256)),
			"inputTransformer": inputTransformer(any_(typ("object"))),
			"method":           str(func(s *Schema) { s.Enum = []any{"eventBus", "scheduler"} }),
			"timezone":         str(pattern(`[\w\-\/]+`)),
		}, required("rate"))),
		"sns": anyOf(str(pattern(`^[\w-]+$`), maxLen(256)), ref("awsArnString"), object(props{
			"arn":               ref("awsArn"),
			"topicName":         str(pattern(`^[\w-]+$`), maxLen(256)),
			"displayName":       str(minLen(1)),
			"filterPolicy":      any_(typ("object")),
			"filterPolicyScope": str(),
			"redrivePolicy": object(props{
				"deadLetterTargetArn": ref("awsArnString"),
				"deadLetterTargetRef": str(minLen(1)),
				"deadLetterTargetImport": object(props{"arn": ref("awsArnString"), "url": str(minLen(1))},
					required("arn", "url")),
			}, withOneOf(any_(required("deadLetterTargetArn")), any_(required("deadLetterTargetRef")),
				any_(required("deadLetterTargetImport")))),
		}, withAnyOf(any_(required("arn")), any_(required("topicName"))))),
		"sqs": anyOf(ref("awsArnString"), object(props{
			"arn": ref("awsArn"), "batchSize": integer(rng(1, 10000)), "enabled": boolean(),
			"maximumBatchingWindow": integer(rng(0, 300)),
			"functionResponseType":  enum("ReportBatchItemFailures"),
			"filterPatterns":        ref("filterPatterns"),
			"maximumConcurrency":    integer(rng(2, 1000)),
		}, required("arn"))),
		"stream": anyOf(ref("awsArnString"), object(props{
			"arn":                        streamArn,
			"type":                       enum("dynamodb", "kinesis"),
			"batchSize":                  integer(rng(1, 10000)),
			"parallelizationFactor":      integer(rng(1, 10)),
			"startingPosition":           enum("LATEST", "TRIM_HORIZON", "AT_TIMESTAMP"),
			"startingPositionTimestamp":  number(),
			"enabled":                    boolean(),
			"consumer":                   anyOf(constant(true), ref("awsArn")),
			"batchWindow":                integer(rng(0, 300)),
			"maximumRetryAttempts":       integer(rng(-1, 10000)),
			"bisectBatchOnFunctionError": boolean(),
			"maximumRecordAgeInSeconds":  anyOf(constant(-1), integer(rng(60, 604800))),
			"functionResponseType":       enum("ReportBatchItemFailures"),
			"destinations": object(props{
				"onFailure": anyOf(ref("awsArnString"), object(props{
					"arn": streamArn, "type": enum("sns", "sqs"),
				}, required("arn"))),
			}, required("onFailure")),
			"tumblingWindowInSeconds": integer(rng(0, 900)),
			"filterPatterns":          ref("filterPatterns"),
		}, required("arn"))),
		"websocket": anyOf(str(), object(props{
			"route":                            str(),
			"routeResponseSelectionExpression": constant("$default"),
			"authorizer": anyOf(ref("awsArnString"), ref("functionName"), object(props{
				"name": ref("functionName"), "arn": ref("awsArn"), "identitySource": strArray(),
			}, withAnyOf(any_(required("name")), any_(required("arn"))))),
		}, required("route"))),
	}
}

func albEvent() *Schema {
	header := object(props{
		"name": str(maxLen(40)), "values": array(str(maxLen(128)), uniqueItems()),
	}, required("name", "values"))
	return object(props{
		"authorizer": strArray(),
		"conditions": object(props{
			"header": anyOf(array(header), header),
			"host":   array(str(pattern(`^[A-Za-z0-9*?.-]+$`), maxLen(128))),
			"ip":     array(str(), uniqueItems()),
			"method": array(str(pattern(`^[A-Z_-]+$`), maxLen(40))),
			"path":   array(str(pattern(`^([A-Za-z0-9*?_.$/~"'@:+-]|&amp;)+$`), maxLen(128))),
			"query":  mapOf(str(maxLen(128)), propertyNames(str(maxLen(128)))),
		}),
		"healthCheck": anyOf(boolean(), object(props{
			"healthyThresholdCount":   integer(rng(2, 10)),
			"intervalSeconds":         integer(rng(5, 300)),
			"matcher":                 object(props{"httpCode": str(pattern(`^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$`))}),
			"path":                    str(minLen(1), maxLen(1024)),
			"timeoutSeconds":          integer(rng(2, 120)),
			"unhealthyThresholdCount": integer(rng(2, 10)),
		})),
		"listenerArn":       anyOf(ref("awsAlbListenerArn"), ref("awsCfRef")),
		"multiValueHeaders": boolean(),
		"priority":          integer(rng(1, 50000)),
		"targetGroupName":   str(pattern(`^[a-zA-Z0-9-]+$`), minLen(1), maxLen(32)),
	}, required("listenerArn", "priority", "conditions"))
}

func httpEvent() *Schema {
	param := mapOf(anyOf(boolean(), object(props{"required": boolean(), "mappedValue": ref("awsCfInstruction")})))
	contentHandling := enum("CONVERT_TO_BINARY", "CONVERT_TO_TEXT")
	return anyOf(str(jsRegexp(`^(?:\*|(GET|POST|PUT|PATCH|OPTIONS|HEAD|DELETE|ANY) (\/\S*))$`, true)), object(props{
		"async": boolean(),
		"authorizer": anyOf(str(), object(props{
			"arn": ref("awsArn"), "authorizerId": ref("awsCfInstruction"), "claims": strArray(),
			"identitySource": str(), "identityValidationExpression": str(), "managedExternally": boolean(),
			"name": str(), "resultTtlInSeconds": integer(rng(0, 3600)),
			"scopes": array(anyOf(str(), ref("awsCfInstruction"))),
			"type":   caseInsensitive("token", "cognito_user_pools", "request", "aws_iam", "custom"),
		})),
		"connectionId":   ref("awsCfInstruction"),
		"connectionType": caseInsensitive("vpc-link", "VPC_LINK"),
		"cors": anyOf(boolean(), object(props{
			"allowCredentials": boolean(), "cacheControl": str(), "headers": strArray(),
			"maxAge":  integer(atLeast(1)),
			"methods": array(enum("GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD", "DELETE", "ANY")),
			"origin":  str(), "origins": strArray(),
		})),
		"integration": caseInsensitive("LAMBDA_PROXY", "LAMBDA-PROXY", "LAMBDA", "AWS", "AWS_PROXY", "AWS-PROXY",
			"HTTP", "HTTP_PROXY", "HTTP-PROXY", "MOCK"),
		"method":      str(jsRegexp(`^(?:\*|GET|POST|PUT|PATCH|OPTIONS|HEAD|DELETE|ANY)$`, true)),
		"operationId": str(),
		"path":        str(jsRegexp(`^(?:\*|\/?\S*)$`, false)),
		"private":     boolean(),
		"request": object(props{
			"contentHandling": contentHandling,
			"method":          str(jsRegexp(`^(?:\*|GET|POST|PUT|PATCH|OPTIONS|HEAD|DELETE|ANY)$`, true)),
			"parameters":      object(props{"querystrings": param, "headers": param, "paths": param}),
			"passThrough":     enum("NEVER", "WHEN_NO_MATCH", "WHEN_NO_TEMPLATES"),
			"schemas":         mapOf(anyOf(any_(typ("object")), str())),
			"template":        mapOf(str()),
			"uri":             ref("awsCfInstruction"),
		}),
		"response": object(props{
			"contentHandling": contentHandling,
			"headers":         mapOf(str()),
			"template":        str(),
			"statusCodes": mapOf(object(props{
				"headers": mapOf(str()), "pattern": str(), "template": anyOf(str(), mapOf(str())),
			}), propertyNames(str(pattern(`^\d{3}$`)))),
		}),
	}, required("path", "method")))
}

func cloudFrontEvent() *Schema {
	cfString := func() *Schema { return anyOf(str(), ref("awsCfFunction")) }
	origin := object(props{
		"ConnectionAttempts": integer(rng(1, 3)),
		"ConnectionTimeout":  integer(rng(1, 10)),
		"CustomOriginConfig": object(props{
			"HTTPPort": integer(rng(0, 65535)), "HTTPSPort": integer(rng(0, 65535)),
			"OriginKeepaliveTimeout": integer(rng(1, 60)),
			"OriginProtocolPolicy":   enum("http-only", "match-viewer", "https-only"),
			"OriginReadTimeout":      integer(rng(1, 60)),
			"OriginSSLProtocols":     array(enum("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2")),
		}, required("OriginProtocolPolicy")),
		"DomainName":            cfString(),
		"OriginAccessControlId": cfString(),
		"OriginCustomHeaders": array(object(props{"HeaderName": str(), "HeaderValue": str()},
			required("HeaderName", "HeaderValue"))),
		"OriginPath": str(),
		"S3OriginConfig": object(props{
			"OriginAccessIdentity": anyOf(str(pattern(`^origin-access-identity/cloudfront/.+`)), ref("awsCfFunction")),
		}),
	}, required("DomainName"), withOneOf(any_(required("CustomOriginConfig")), any_(required("S3OriginConfig"))))
	return object(props{
		"behavior": object(props{
			"AllowedMethods": anyOf(array(enum("GET", "HEAD"), minItems(2), uniqueItems()),
				array(enum("GET", "HEAD", "OPTIONS"), minItems(3), uniqueItems()),
				array(enum("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"), minItems(7), uniqueItems())),
			"CachedMethods": anyOf(array(enum("GET", "HEAD"), minItems(2), uniqueItems()),
				array(enum("GET", "HEAD", "OPTIONS"), minItems(3), uniqueItems())),
			"CachePolicyId":           str(),
			"Compress":                boolean(),
			"FieldLevelEncryptionId":  str(),
			"OriginRequestPolicyId":   cfString(),
			"ResponseHeadersPolicyId": cfString(),
			"SmoothStreaming":         boolean(),
			"TrustedSigners":          strArray(),
			"ViewerProtocolPolicy":    enum("allow-all", "redirect-to-https", "https-only"),
			"TrustedKeyGroups":        array(anyOf(str(), ref("awsCfRef"))),
			"MaxTTL":                  number(),
			"MinTTL":                  number(),
			"DefaultTTL":              number(),
			"ForwardedValues": object(props{
				"Cookies": anyOf(object(props{"Forward": enum("all", "none")}, required("Forward")),
					object(props{"Forward": constant("whitelist"), "WhitelistedNames": strArray()},
						required("Forward", "WhitelistedNames"))),
				"Headers": strArray(), "QueryString": boolean(), "QueryStringCacheKeys": strArray(),
			}, required("QueryString")),
		}),
		"cachePolicy": object(props{"id": ref("awsCfInstruction"), "name": str(minLen(1))},
			withOneOf(any_(required("id")), any_(required("name")))),
		"eventType":       enum("viewer-request", "origin-request", "origin-response", "viewer-response"),
		"isDefaultOrigin": boolean(),
		"includeBody":     boolean(),
		"origin":          anyOf(str(format("uri")), origin),
		"pathPattern":     str(pattern(`^([A-Za-z0-9_.*?$/~"'@:+-]|&amp;)+$`)),
	})
}

func eventBridgeEvent(transformer *Schema) *Schema {
	anything := any_()
	getAttName := array(nil, minItems(2), maxItems(2))
	getAttName.TupleItems = []*Schema{str(minLen(1)), str(func(s *Schema) { s.Enum = []any{"Name"} })}
	return openObject(props{
		"eventBus": anyOf(str(minLen(1)), ref("awsArnString"), ref("awsCfImport"), ref("awsCfRef"),
			object(props{"Fn::GetAtt": getAttName}, required("Fn::GetAtt"))),
		"schedule":    str(pattern(`^(?:cron|rate)\(.+\)$`)),
		"name":        str(pattern(`[a-zA-Z0-9-_.]+`), minLen(1), maxLen(64)),
		"description": str(maxLen(512)),
		"enabled":     boolean(),
		"pattern": object(props{
			"version": anything, "id": anything, "detail-type": anything, "source": anything,
			"account": anything, "time": anything, "region": anything, "resources": anything,
			"detail": anything, "$or": array(nil),
		}),
		"input":            any_(typ("object")),
		"inputPath":        str(minLen(1), maxLen(256)),
		"inputTransformer": transformer,
		"retryPolicy": openObject(props{
			"maximumEventAge": integer(rng(60, 86400)), "maximumRetryAttempts": integer(rng(0, 185)),
		}),
		"deadLetterQueueArn": ref("awsArn"),
	}, withAnyOf(any_(required("pattern")), any_(required("schedule"))))
}
