package aws

import (
	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// DeploymentBucket is provider.deploymentBucket read the way v3's provider
// does at start-up: a string names an existing bucket; an object may name
// one (name) and carries the bucket settings either way.
type DeploymentBucket struct {
	// Name is the user's bucket; "" means Nimbus creates
	// ServerlessDeploymentBucket in the stack.
	Name   string
	Object *config.Node
}

// DeploymentBucketOf reads provider.deploymentBucket.
func DeploymentBucketOf(svc *service.Service) DeploymentBucket {
	n := svc.Provider.Raw.Get("deploymentBucket")
	if n == nil {
		return DeploymentBucket{}
	}
	if n.Kind == config.Map {
		return DeploymentBucket{Name: n.Get("name").Scalar0(), Object: n}
	}
	if n.Truthy() {
		return DeploymentBucket{Name: n.Scalar0()}
	}
	return DeploymentBucket{}
}

// CoreTemplate is v3's generateCoreTemplate: the stack created before the
// first upload (deployment bucket and its TLS-only policy) and the base the
// update template is compiled onto. With a named deployment bucket the
// bucket resources are dropped and the output holds the name.
func CoreTemplate(svc *service.Service) *cfn.Template {
	t := cfn.New()
	t.AddResource(DeploymentBucketLogicalID, "AWS::S3::Bucket", map[string]any{
		"BucketEncryption": map[string]any{
			"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
			},
		},
	})
	bucketArn := func(suffix ...any) any {
		parts := []any{"arn:", cfn.Ref("AWS::Partition"), ":s3:::", cfn.Ref(DeploymentBucketLogicalID)}
		return cfn.Join("", append(parts, suffix...)...)
	}
	t.AddResource(DeploymentBucketPolicyLogicalID, "AWS::S3::BucketPolicy", map[string]any{
		"Bucket": cfn.Ref(DeploymentBucketLogicalID),
		"PolicyDocument": map[string]any{
			"Statement": []any{map[string]any{
				"Action":    "s3:*",
				"Effect":    "Deny",
				"Principal": "*",
				"Resource":  []any{bucketArn("/*"), bucketArn()},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": false}},
			}},
		},
	})
	t.Outputs[DeploymentBucketOutputLogicalID] = map[string]any{"Value": cfn.Ref(DeploymentBucketLogicalID)}

	db := DeploymentBucketOf(svc)
	if obj := db.Object; obj != nil && len(obj.Pairs) > 0 {
		props := t.Resource(DeploymentBucketLogicalID)["Properties"].(map[string]any)
		if tags := obj.Get("tags"); tags != nil && len(tags.Pairs) > 0 {
			props["Tags"] = tagList(tags.Pairs)
		}
		if obj.Get("blockPublicAccess").Truthy() {
			props["PublicAccessBlockConfiguration"] = map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true,
				"IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			}
		}
		if obj.Get("versioning").Truthy() {
			props["VersioningConfiguration"] = map[string]any{"Status": "Enabled"}
		}
		if obj.Get("skipPolicySetup").Truthy() {
			delete(t.Resources, DeploymentBucketPolicyLogicalID)
		}
	}
	if db.Name != "" {
		t.Outputs[DeploymentBucketOutputLogicalID] = map[string]any{"Value": db.Name}
		delete(t.Resources, DeploymentBucketLogicalID)
		delete(t.Resources, DeploymentBucketPolicyLogicalID)
		return t
	}
	_, accelerate := svc.Options["aws-s3-accelerate"]
	if accelerate && s3AccelerationSupported(svc.Region) {
		props := t.Resource(DeploymentBucketLogicalID)["Properties"].(map[string]any)
		props["AccelerateConfiguration"] = map[string]any{"AccelerationStatus": "Enabled"}
		t.Outputs["ServerlessDeploymentBucketAccelerated"] = map[string]any{"Value": true}
	} else if _, off := svc.Options["no-aws-s3-accelerate"]; off && s3AccelerationSupported(svc.Region) {
		props := t.Resource(DeploymentBucketLogicalID)["Properties"].(map[string]any)
		props["AccelerateConfiguration"] = map[string]any{"AccelerationStatus": "Suspended"}
	}
	return t
}

// s3AccelerationSupported mirrors v3: not in China or GovCloud partitions.
func s3AccelerationSupported(region string) bool {
	return !(len(region) >= 3 && region[:3] == "cn-") && !(len(region) >= 7 && region[:7] == "us-gov-")
}

// tagList turns ordered key/value pairs into CloudFormation's
// [{Key, Value}] list, keeping config order.
func tagList(pairs []config.Pair) []any {
	out := make([]any, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, map[string]any{"Key": p.Key, "Value": coerceString(p.Value)})
	}
	return out
}
