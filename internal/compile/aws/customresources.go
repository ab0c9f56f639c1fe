package aws

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"

	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/compile/aws/customresources"
)

// The custom resources v3 adds for things CloudFormation cannot do alone
// (notifications on an existing S3 bucket, triggers on an existing Cognito
// user pool, legacy EventBridge rules, API Gateway's CloudWatch role): one
// shared role plus one handler Lambda per kind, all running code from
// custom-resources.zip (see package customresources).

// CustomResourceKind names one bundled custom-resource handler.
type CustomResourceKind string

const (
	CustomResourceS3               CustomResourceKind = "s3"
	CustomResourceCognitoUserPool  CustomResourceKind = "cognitoUserPool"
	CustomResourceEventBridge      CustomResourceKind = "eventBridge"
	CustomResourceAPIGatewayCWRole CustomResourceKind = "apiGatewayCloudWatchRole"
)

// The handler Lambdas' settings. Memory, timeout and the name limit are
// v3's; the runtime deliberately is not. v3 3.40 writes nodejs18.x, which
// Lambda stopped accepting for new functions on 2026-06-01 and for updates
// on 2026-07-01; as the code's S3 key changes on every deploy, every deploy
// of a service using a handler would fail. nodejs24.x is the Node runtime
// with the longest AWS support (deprecation 2028-04-30). Our handlers run on
// it as they are: they import only Node built-ins and the AWS SDK for
// JavaScript v3 the runtime bundles, and export async two-argument handlers
// (nodejs24.x refuses callback-style ones); customresources' tests check
// both. A stack deployed by v3 that Nimbus deploys next gets the runtime
// changed in place on each handler Lambda it has (Runtime needs no
// replacement, so name and ARN stay and the custom resources using it see no
// change). The corpus comparison with v3's templates maps v3's value to this
// one (testdata/known-differences.txt).
const (
	customResourceFunctionMemory    = 1024
	customResourceFunctionTimeout   = 180
	customResourceFunctionNameLimit = 64
)

// CustomResourceFunctionRuntime is the Runtime of every custom-resource
// handler Lambda.
const CustomResourceFunctionRuntime = "nodejs24.x"

// customResourceHandler is the function name suffix and handler path of each kind.
var customResourceHandler = map[CustomResourceKind]struct{ name, handler string }{
	CustomResourceS3:               {"custom-resource-existing-s3", "s3/handler.handler"},
	CustomResourceCognitoUserPool:  {"custom-resource-existing-cup", "cognito-user-pool/handler.handler"},
	CustomResourceEventBridge:      {"custom-resource-event-bridge", "event-bridge/handler.handler"},
	CustomResourceAPIGatewayCWRole: {"custom-resource-apigw-cw-role", "api-gateway-cloud-watch-role/handler.handler"},
}

// CustomResourceFunctionLogicalIDOf is the logical ID of a kind's handler Lambda.
func CustomResourceFunctionLogicalIDOf(kind CustomResourceKind) string {
	return CustomResourceFunctionLogicalID(customResourceHandler[kind].name)
}

// UsesCustomResources reports whether the template runs any bundled
// custom-resource handler, i.e. whether packaging must write
// custom-resources.zip beside the service artifacts.
func UsesCustomResources(t *cfn.Template) bool {
	for kind := range customResourceHandler {
		if t.Resource(CustomResourceFunctionLogicalIDOf(kind)) != nil {
			return true
		}
	}
	return false
}

// WriteCustomResourcesArtifact writes custom-resources.zip into dir when
// the template runs a bundled handler (the template's handler Lambdas point
// at <artifact directory>/custom-resources.zip), returning its path, or ""
// when the template needs none.
func WriteCustomResourcesArtifact(dir string, t *cfn.Template) (string, error) {
	if !UsesCustomResources(t) {
		return "", nil
	}
	data, err := customresources.Zip()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, CustomResourcesArtifactName)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// addCustomResource is v3's addCustomResourceToService: it adds (once) the
// shared custom-resources role, appends statements whose Resource it does
// not hold yet, and (re)writes the handler Lambda of kind.
func addCustomResource(c *Context, kind CustomResourceKind, statements []any) {
	h := customResourceHandler[kind]
	prov := c.Svc.Provider.Raw
	writeLogs := prov.Get("logs").Get("frameworkLambda").Truthy()
	prefix := c.Svc.Name + "-" + c.Svc.Stage
	functionName := prefix + "-" + h.name
	if len(functionName) > customResourceFunctionNameLimit {
		sum := md5.Sum([]byte(functionName))
		functionName = functionName[:32] + hex.EncodeToString(sum[:])
	}

	deploymentRole := prov.Get("iam").Get("deploymentRole")
	if deploymentRole == nil {
		deploymentRole = prov.Get("cfnRole")
	}
	hasDeploymentRole := deploymentRole.Truthy()

	if !hasDeploymentRole {
		role := c.Template.Resource(CustomResourcesRoleLogicalID)
		if role == nil {
			role = customResourcesRole(c, writeLogs, prefix)
			c.Template.Resources[CustomResourcesRoleLogicalID] = role
		}
		doc := role["Properties"].(map[string]any)["Policies"].([]any)[0].(map[string]any)["PolicyDocument"].(map[string]any)
		existing, _ := doc["Statement"].([]any)
		for _, st := range statements {
			res := st.(map[string]any)["Resource"]
			dup := false
			for _, old := range existing {
				// v3 compares with ===: only identical strings match, never objects.
				if s, ok := res.(string); ok && old.(map[string]any)["Resource"] == any(s) {
					dup = true
					break
				}
			}
			if !dup {
				existing = append(existing, st)
			}
		}
		doc["Statement"] = existing
	}

	var bucket any = cfn.Ref(DeploymentBucketLogicalID)
	if name := deploymentBucketName(c); name != "" {
		bucket = name
	}
	fn := map[string]any{
		"Type": "AWS::Lambda::Function",
		"Properties": map[string]any{
			"Code": map[string]any{
				"S3Bucket": bucket,
				"S3Key":    c.ArtifactDirectoryName + "/" + CustomResourcesArtifactName,
			},
			"FunctionName": functionName,
			"Handler":      h.handler,
			"MemorySize":   customResourceFunctionMemory,
			"Runtime":      CustomResourceFunctionRuntime,
			"Timeout":      customResourceFunctionTimeout,
		},
		"DependsOn": []any{},
	}
	props := fn["Properties"].(map[string]any)
	if hasDeploymentRole {
		props["Role"] = eventValue(deploymentRole)
	} else {
		props["Role"] = cfn.GetAtt(CustomResourcesRoleLogicalID, "Arn")
		fn["DependsOn"] = append(fn["DependsOn"].([]any), CustomResourcesRoleLogicalID)
	}
	c.Template.Resources[CustomResourceFunctionLogicalIDOf(kind)] = fn

	if writeLogs {
		logGroupID := LogGroupLogicalID(h.name)
		fn["DependsOn"] = append(fn["DependsOn"].([]any), logGroupID)
		logProps := map[string]any{"LogGroupName": LogGroupName(functionName)}
		if r := prov.Get("logRetentionInDays"); r != nil {
			logProps["RetentionInDays"] = eventValue(r)
		}
		if p := prov.Get("logDataProtectionPolicy"); p != nil {
			logProps["DataProtectionPolicy"] = eventValue(p)
		}
		c.Template.Resources[logGroupID] = map[string]any{"Type": "AWS::Logs::LogGroup", "Properties": logProps}
	}
}

func customResourcesRole(c *Context, writeLogs bool, prefix string) map[string]any {
	var statements []any
	if writeLogs {
		logGroups := LogGroupName(prefix)
		base := "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:" + logGroups
		statements = append(statements,
			map[string]any{
				"Effect":   "Allow",
				"Action":   []any{"logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource"},
				"Resource": []any{cfn.Sub(base + "*:*")},
			},
			map[string]any{
				"Effect":   "Allow",
				"Action":   []any{"logs:PutLogEvents"},
				"Resource": []any{cfn.Sub(base + "*:*:*")},
			})
	}
	if statements == nil {
		statements = []any{}
	}
	return map[string]any{
		"Type": "AWS::IAM::Role",
		"Properties": map[string]any{
			"AssumeRolePolicyDocument": lambdaAssumeRolePolicy(),
			"Policies": []any{map[string]any{
				"PolicyName": cfn.Join("-", c.Svc.Stage, c.Svc.Name, "custom-resources-lambda"),
				"PolicyDocument": map[string]any{
					"Version":   "2012-10-17",
					"Statement": statements,
				},
			}},
		},
	}
}

// deploymentBucketName is provider.deploymentBucket (string or .name), the
// bucket v3 uploads to when the service brings its own.
func deploymentBucketName(c *Context) string {
	db := c.Svc.Provider.Raw.Get("deploymentBucket")
	if s, ok := db.Str(); ok {
		return s
	}
	return db.Get("name").Scalar0()
}
