package variables

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// sdkClient answers the remote sources with aws-sdk-go-v2.
type sdkClient struct {
	cfg aws.Config
	// pathStyle is set when AWS_ENDPOINT_URL points at a local emulator,
	// which cannot serve virtual-hosted bucket names.
	pathStyle bool
}

func newSDKClient(ctx context.Context, profile string) (AWS, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot load AWS configuration: %w", err)
	}
	// The SDK would print warnings (IMDS fallbacks, skipped checksums) on
	// the user's terminal; errors reach the user through diagnostics.
	cfg.Logger = logging.Nop{}
	_, s3Endpoint := os.LookupEnv("AWS_ENDPOINT_URL_S3")
	_, endpoint := os.LookupEnv("AWS_ENDPOINT_URL")
	return &sdkClient{cfg: cfg, pathStyle: endpoint || s3Endpoint}, nil
}

func (c *sdkClient) withRegion(region string) aws.Config {
	cfg := c.cfg.Copy()
	if region != "" {
		cfg.Region = region
	}
	return cfg
}

func (c *sdkClient) AccountID(ctx context.Context, region string) (string, error) {
	out, err := sts.NewFromConfig(c.withRegion(region)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Account), nil
}

func (c *sdkClient) StackOutputs(ctx context.Context, region, stack string) (map[string]string, error) {
	out, err := cloudformation.NewFromConfig(c.withRegion(region)).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if len(out.Stacks) == 0 {
		return nil, ErrNotFound
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return outputs, nil
}

func (c *sdkClient) Parameter(ctx context.Context, region, name string, decrypt bool) (Parameter, error) {
	out, err := ssm.NewFromConfig(c.withRegion(region)).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(decrypt)})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return Parameter{}, ErrNotFound
		}
		return Parameter{}, err
	}
	return Parameter{Type: string(out.Parameter.Type), Value: aws.ToString(out.Parameter.Value)}, nil
}

func (c *sdkClient) Object(ctx context.Context, region, bucket, key string) ([]byte, error) {
	client := s3.NewFromConfig(c.withRegion(region), func(o *s3.Options) { o.UsePathStyle = c.pathStyle })
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nk *s3types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}
