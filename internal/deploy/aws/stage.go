package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	apigwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	compileaws "github.com/nimbusfw/nimbus/internal/compile/aws"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// serverless v3 keeps the REST API stage's tracing, metrics, logging and
// tags out of the template (CloudFormation could not manage a separate
// Stage resource next to the Deployment's implicit one) and patches the
// stage through the API Gateway SDK after every deploy
// (api-gateway/lib/hack/update-stage.js). UpdateRestAPIStage is that step.

// APIGateway is the part of the API Gateway API the stage update uses.
type APIGateway interface {
	GetRestApis(context.Context, *apigateway.GetRestApisInput, ...func(*apigateway.Options)) (*apigateway.GetRestApisOutput, error)
	GetDeployments(context.Context, *apigateway.GetDeploymentsInput, ...func(*apigateway.Options)) (*apigateway.GetDeploymentsOutput, error)
	GetStage(context.Context, *apigateway.GetStageInput, ...func(*apigateway.Options)) (*apigateway.GetStageOutput, error)
	CreateStage(context.Context, *apigateway.CreateStageInput, ...func(*apigateway.Options)) (*apigateway.CreateStageOutput, error)
	UpdateStage(context.Context, *apigateway.UpdateStageInput, ...func(*apigateway.Options)) (*apigateway.UpdateStageOutput, error)
	TagResource(context.Context, *apigateway.TagResourceInput, ...func(*apigateway.Options)) (*apigateway.TagResourceOutput, error)
	UntagResource(context.Context, *apigateway.UntagResourceInput, ...func(*apigateway.Options)) (*apigateway.UntagResourceOutput, error)
}

// Identity is the part of STS that tells which account and partition the
// credentials belong to (stage ARNs and the access-log destination name
// them).
type Identity interface {
	GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// logGroupDeleter is asserted on Clients.Logs rather than added to Logs so
// that existing implementations of Logs keep compiling.
type logGroupDeleter interface {
	DeleteLogGroup(context.Context, *cloudwatchlogs.DeleteLogGroupInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
}

// ErrRestAPINotResolved is v3's API_GATEWAY_REST_API_ID_NOT_RESOLVED: the
// service has http events and stage tracing or logs, but no REST API with
// a deployment could be found to apply them to.
var ErrRestAPINotResolved = errors.New("the REST API id could not be resolved (a custom API Gateway setup?): " +
	"provider.tracing.apiGateway and provider.logs.restApi cannot be applied to its stage")

// UpdateRestAPIStage applies v3's post-deploy REST API stage settings:
// tracing, metrics, execution and access logging through UpdateStage, stage
// tags, and removal of the access-log group when access logging is off.
// template is the deployed (update-stack) template; it says whether the
// stack holds the REST API. It does nothing when the service configures
// none of those settings, uses an external REST API, or has no REST API.
func UpdateRestAPIStage(ctx context.Context, c *Clients, svc *service.Service, template []byte, stackName string, rep Reporter) error {
	if rep == nil {
		rep = NopReporter{}
	}
	if _, ok := compileaws.RestAPIStageUpdateOf(svc, "", "", ""); !ok {
		return nil
	}
	if c.APIGateway == nil || c.STS == nil {
		return fmt.Errorf("updating the API Gateway stage: no API Gateway or STS client configured")
	}
	restLogicalID, restName, err := restAPIInTemplate(template)
	if err != nil {
		return err
	}
	httpEvents := usesHTTPEvents(svc)
	if restLogicalID == "" && !httpEvents {
		return nil
	}
	if restName == "" {
		restName = compileaws.APIGatewayName(&compileaws.Context{Svc: svc})
	}
	who, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("updating the API Gateway stage: reading the AWS account: %w", CredentialsError(err))
	}
	accountID, partition := aws.ToString(who.Account), partitionOf(aws.ToString(who.Arn))

	restAPIID := ""
	if restLogicalID != "" {
		if restAPIID, err = physicalID(ctx, c.CloudFormation, stackName, restLogicalID); err != nil {
			return err
		}
	}
	// A REST API outside the stack's own resources (a plugin's nested
	// stack) is found by name, as v3 always does.
	if restAPIID == "" {
		if restAPIID, err = restAPIByName(ctx, c.APIGateway, restName); err != nil {
			return err
		}
	}
	deploymentID := ""
	if restAPIID != "" {
		out, err := c.APIGateway.GetDeployments(ctx, &apigateway.GetDeploymentsInput{RestApiId: aws.String(restAPIID), Limit: aws.Int32(500)})
		if err != nil {
			return fmt.Errorf("updating the API Gateway stage: listing deployments of REST API %s: %s", restAPIID, apiMessage(err))
		}
		if len(out.Items) > 0 {
			deploymentID = aws.ToString(out.Items[0].Id)
		}
	}
	if deploymentID == "" {
		prov := svc.Provider.Raw
		configured := func(n *config.Node) bool { return n != nil && n.Kind != config.Null }
		if !httpEvents || (!configured(prov.Get("tracing").Get("apiGateway")) && !configured(prov.Get("logs").Get("restApi"))) {
			return nil
		}
		return ErrRestAPINotResolved
	}

	update, _ := compileaws.RestAPIStageUpdateOf(svc, restAPIID, partition, accountID)
	rep.Step("Updating API Gateway stage " + update.StageName)
	current, err := ensureStage(ctx, c.APIGateway, restAPIID, update.StageName, deploymentID)
	if err != nil {
		return err
	}
	if len(update.Patch) > 0 {
		ops := make([]apigwtypes.PatchOperation, len(update.Patch))
		for i, p := range update.Patch {
			ops[i] = apigwtypes.PatchOperation{Op: apigwtypes.Op(p.Op), Path: aws.String(p.Path)}
			if p.Op != "remove" {
				ops[i].Value = aws.String(p.Value)
			}
		}
		if _, err := c.APIGateway.UpdateStage(ctx, &apigateway.UpdateStageInput{
			RestApiId: aws.String(restAPIID), StageName: aws.String(update.StageName), PatchOperations: ops,
		}); err != nil {
			return fmt.Errorf("updating API Gateway stage %s of REST API %s: %s", update.StageName, restAPIID, apiMessage(err))
		}
	}
	if update.TagsConfigured {
		apply, remove := compileaws.StageTagChanges(current.Tags, update.Tags)
		if apply != nil {
			if _, err := c.APIGateway.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String(update.TagResourceArn), Tags: apply}); err != nil {
				return fmt.Errorf("tagging API Gateway stage %s: %s", update.TagResourceArn, apiMessage(err))
			}
		}
		if len(remove) > 0 {
			if _, err := c.APIGateway.UntagResource(ctx, &apigateway.UntagResourceInput{ResourceArn: aws.String(update.TagResourceArn), TagKeys: remove}); err != nil {
				return fmt.Errorf("removing tags %s from API Gateway stage %s: %s", strings.Join(remove, ", "), update.TagResourceArn, apiMessage(err))
			}
		}
	}
	if update.DeleteLogGroup != "" {
		// The group must go when access logging is off, or turning it on
		// again collides with the leftover name; a group that was never
		// there (the usual case) or cannot be deleted changes nothing, so
		// v3 ignores every failure here.
		if logs, ok := c.Logs.(logGroupDeleter); ok {
			logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(update.DeleteLogGroup)})
		}
	}
	return nil
}

// ensureStage returns the stage, creating it on the API's deployment when
// it does not exist (v3's ensureStage: the stage may be missing when the
// deployment was created without one).
func ensureStage(ctx context.Context, api APIGateway, restAPIID, stage, deploymentID string) (*apigateway.GetStageOutput, error) {
	st, err := api.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(restAPIID), StageName: aws.String(stage)})
	if err == nil {
		return st, nil
	}
	var missing *apigwtypes.NotFoundException
	if !errors.As(err, &missing) {
		return nil, fmt.Errorf("reading API Gateway stage %s of REST API %s: %s", stage, restAPIID, apiMessage(err))
	}
	if _, err := api.CreateStage(ctx, &apigateway.CreateStageInput{
		RestApiId: aws.String(restAPIID), StageName: aws.String(stage), DeploymentId: aws.String(deploymentID),
	}); err != nil {
		return nil, fmt.Errorf("creating API Gateway stage %s of REST API %s: %s", stage, restAPIID, apiMessage(err))
	}
	return &apigateway.GetStageOutput{StageName: aws.String(stage), DeploymentId: aws.String(deploymentID)}, nil
}

// restAPIInTemplate finds the template's REST API the way v3 does: the one
// AWS::ApiGateway::RestApi resource, and only when a Deployment refers to
// it (without one there is no stage to update). name is its literal Name
// property, "" when absent or computed.
func restAPIInTemplate(template []byte) (logicalID, name string, err error) {
	var t struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(template, &t); err != nil {
		return "", "", fmt.Errorf("updating the API Gateway stage: reading the compiled template: %w", err)
	}
	var apis []string
	for id, r := range t.Resources {
		if r.Type == "AWS::ApiGateway::RestApi" {
			apis = append(apis, id)
		}
	}
	if len(apis) != 1 {
		return "", "", nil
	}
	for _, r := range t.Resources {
		if r.Type != "AWS::ApiGateway::Deployment" {
			continue
		}
		var ref struct{ Ref string }
		if json.Unmarshal(r.Properties["RestApiId"], &ref) == nil && ref.Ref == apis[0] {
			_ = json.Unmarshal(t.Resources[apis[0]].Properties["Name"], &name)
			return apis[0], name, nil
		}
	}
	return "", "", nil
}

func usesHTTPEvents(svc *service.Service) bool {
	for _, f := range svc.Functions {
		for _, e := range f.Events {
			if e.Type == "http" {
				return true
			}
		}
	}
	return false
}

// physicalID looks a resource up in the stack's resource list ("" when
// absent). ListStackResources rather than DescribeStackResources with a
// logical ID: moto fails on the latter.
func physicalID(ctx context.Context, cf CloudFormation, stack, logicalID string) (string, error) {
	in := &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)}
	for {
		out, err := cf.ListStackResources(ctx, in)
		if err != nil {
			return "", fmt.Errorf("updating the API Gateway stage: listing resources of stack %s: %s", stack, apiMessage(err))
		}
		for _, r := range out.StackResourceSummaries {
			if aws.ToString(r.LogicalResourceId) == logicalID {
				return aws.ToString(r.PhysicalResourceId), nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return "", nil
		}
		in.NextToken = out.NextToken
	}
}

// restAPIByName pages through the account's REST APIs for the first one
// with the name ("" when none).
func restAPIByName(ctx context.Context, api APIGateway, name string) (string, error) {
	in := &apigateway.GetRestApisInput{Limit: aws.Int32(500)}
	for {
		out, err := api.GetRestApis(ctx, in)
		if err != nil {
			return "", fmt.Errorf("updating the API Gateway stage: listing REST APIs: %s", apiMessage(err))
		}
		for _, a := range out.Items {
			if aws.ToString(a.Name) == name {
				return aws.ToString(a.Id), nil
			}
		}
		if aws.ToString(out.Position) == "" {
			return "", nil
		}
		in.Position = out.Position
	}
}

// partitionOf reads the partition from an ARN ("aws" when unreadable).
func partitionOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// apiMessage is an AWS error's code and message without the SDK's
// operation and request-id wrapping, to keep errors on one line.
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return CredentialsError(err).Error()
}
