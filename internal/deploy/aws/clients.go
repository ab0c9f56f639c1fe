// Package aws deploys a packaged service to AWS through CloudFormation the
// way serverless v3 does — core stack creation, the "nothing changed" check,
// artifact upload, change sets (or direct updates), live stack events,
// rollback, remove — plus what v3 lacks: plan (change-set preview) and
// drift. AWS is reached through the small interfaces below so tests can put
// a scripted fake in front of the engine for failure paths.
package aws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// CloudFormation is the part of the CloudFormation API the engine uses.
type CloudFormation interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	CreateStack(context.Context, *cloudformation.CreateStackInput, ...func(*cloudformation.Options)) (*cloudformation.CreateStackOutput, error)
	UpdateStack(context.Context, *cloudformation.UpdateStackInput, ...func(*cloudformation.Options)) (*cloudformation.UpdateStackOutput, error)
	DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
	DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	DescribeStackResources(context.Context, *cloudformation.DescribeStackResourcesInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourcesOutput, error)
	ListStackResources(context.Context, *cloudformation.ListStackResourcesInput, ...func(*cloudformation.Options)) (*cloudformation.ListStackResourcesOutput, error)
	CreateChangeSet(context.Context, *cloudformation.CreateChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(context.Context, *cloudformation.DescribeChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	ExecuteChangeSet(context.Context, *cloudformation.ExecuteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
	DeleteChangeSet(context.Context, *cloudformation.DeleteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
	SetStackPolicy(context.Context, *cloudformation.SetStackPolicyInput, ...func(*cloudformation.Options)) (*cloudformation.SetStackPolicyOutput, error)
	ValidateTemplate(context.Context, *cloudformation.ValidateTemplateInput, ...func(*cloudformation.Options)) (*cloudformation.ValidateTemplateOutput, error)
	GetTemplate(context.Context, *cloudformation.GetTemplateInput, ...func(*cloudformation.Options)) (*cloudformation.GetTemplateOutput, error)
	DetectStackDrift(context.Context, *cloudformation.DetectStackDriftInput, ...func(*cloudformation.Options)) (*cloudformation.DetectStackDriftOutput, error)
	DescribeStackDriftDetectionStatus(context.Context, *cloudformation.DescribeStackDriftDetectionStatusInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackDriftDetectionStatusOutput, error)
	DescribeStackResourceDrifts(context.Context, *cloudformation.DescribeStackResourceDriftsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourceDriftsOutput, error)
}

// S3 is the part of the S3 API the engine uses.
type S3 interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	GetBucketLocation(context.Context, *s3.GetBucketLocationInput, ...func(*s3.Options)) (*s3.GetBucketLocationOutput, error)
}

// Lambda is the part of the Lambda API the engine uses.
type Lambda interface {
	GetFunction(context.Context, *lambda.GetFunctionInput, ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	UpdateFunctionCode(context.Context, *lambda.UpdateFunctionCodeInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	UpdateFunctionConfiguration(context.Context, *lambda.UpdateFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
	GetFunctionConfiguration(context.Context, *lambda.GetFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Logs is the part of the CloudWatch Logs API the engine uses.
type Logs interface {
	FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
	DescribeLogStreams(context.Context, *cloudwatchlogs.DescribeLogStreamsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
}

// Clients bundles the AWS APIs and where they point.
type Clients struct {
	CloudFormation CloudFormation
	S3             S3
	Lambda         Lambda
	Logs           Logs
	Metrics        Metrics
	// APIGateway and STS serve the post-deploy REST API stage update.
	APIGateway APIGateway
	STS        Identity
	// CloudFront invalidates lift websites' caches after their upload.
	CloudFront CloudFront
	Region     string
	// Endpoint is AWS_ENDPOINT_URL when set (moto, LocalStack): template
	// URLs then use the path-style form CloudFormation accepts.
	Endpoint string
}

// NewClients builds real clients from the default credential chain, an
// optional profile and region. With AWS_ENDPOINT_URL set, S3 uses
// path-style addressing (bucket names do not resolve as hosts locally).
func NewClients(ctx context.Context, region, profile string) (*Clients, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, CredentialsError(err)
	}
	// Resolve credentials now: a missing or expired one should stop a
	// command before it packages or changes anything.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, CredentialsError(err)
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	return &Clients{
		CloudFormation: cloudformation.NewFromConfig(cfg),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			if endpoint != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != "" {
				o.UsePathStyle = true
			}
		}),
		Lambda:     lambda.NewFromConfig(cfg),
		Logs:       cloudwatchlogs.NewFromConfig(cfg),
		Metrics:    cloudwatch.NewFromConfig(cfg),
		APIGateway: apigateway.NewFromConfig(cfg),
		STS:        sts.NewFromConfig(cfg),
		CloudFront: cloudfront.NewFromConfig(cfg),
		Region:     cfg.Region,
		Endpoint:   endpoint,
	}, nil
}

// TemplateURL is the URL CloudFormation reads an uploaded template from.
// moto and real AWS both accept the global path-style form.
func (c *Clients) TemplateURL(bucket, key string) string {
	if c.Endpoint != "" || c.Region == "us-east-1" || c.Region == "" {
		return "https://s3.amazonaws.com/" + bucket + "/" + key
	}
	host := "s3." + c.Region + ".amazonaws.com"
	if strings.HasPrefix(c.Region, "cn-") {
		host += ".cn"
	}
	return "https://" + host + "/" + bucket + "/" + key
}

// CredentialsError turns the SDK's credential failures into one clear
// line; other errors pass through.
func CredentialsError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
			return fmt.Errorf("AWS credentials have expired: refresh them (e.g. aws sso login) and retry")
		case "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId":
			return fmt.Errorf("AWS rejected the credentials (%s): check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --aws-profile", ae.ErrorCode())
		}
	}
	if _, profile, ok := strings.Cut(msg, "failed to get shared config profile, "); ok {
		return fmt.Errorf("AWS profile %q is not in the shared config files (~/.aws/config, ~/.aws/credentials)", strings.TrimSpace(profile))
	}
	if strings.Contains(msg, "failed to refresh cached credentials") || strings.Contains(msg, "no EC2 IMDS role found") ||
		strings.Contains(msg, "get credentials") || strings.Contains(msg, "failed to get shared config profile") {
		return fmt.Errorf("no usable AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --aws-profile")
	}
	return err
}

// isNotFound reports whether err says a stack does not exist.
func isStackMissing(err error) bool {
	return err != nil && strings.Contains(err.Error(), "does not exist")
}

func str(s *string) string { return aws.ToString(s) }
