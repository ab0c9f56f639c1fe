package aws

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/packaging"
)

// Bundle is one packaged deployment: what to upload and how to update the
// stack. pkg/nimbus builds it from the package result and the service.
type Bundle struct {
	Service, Stage, Region string
	StackName              string
	// Prefix is provider.deploymentPrefix ("serverless").
	Prefix string
	// ArtifactDirectoryName is "<prefix>/<service>/<stage>/<ms>-<iso>".
	ArtifactDirectoryName string
	// CoreTemplate creates the stack when it does not exist (the deployment
	// bucket); Template is the full update template.
	CoreTemplate, Template []byte
	// State is serverless-state.json.
	State []byte
	// Artifacts are the zip files to upload (absolute paths).
	Artifacts []string
	// FunctionNames are the deployed Lambda names, for the LastModified check.
	FunctionNames []string
	// Bucket is provider.deploymentBucket.name when the user names one; empty
	// means the stack's ServerlessDeploymentBucket.
	Bucket string
	// BucketKey and BucketPos say where the config names Bucket, so a
	// bucket that cannot be used is reported at that line.
	BucketKey string
	BucketPos diag.Pos
	// Encryption is deploymentBucket's encryption of every upload.
	Encryption BucketEncryption
	// BucketOnlyCreatedSettings are the deploymentBucket settings given
	// (tags, blockPublicAccess, versioning) that shape only the bucket the
	// stack creates, so a named bucket does not get them.
	BucketOnlyCreatedSettings []string
	// Direct selects provider.deploymentMethod: direct instead of change sets.
	Direct bool
	// MaxPreviousArtifacts is how many deployment directories are kept:
	// 0 means v3's default 5, KeepNoArtifacts none at all.
	MaxPreviousArtifacts int
	StackTags            map[string]string
	// StackPolicy is {"Statement": provider.stackPolicy}, empty when the
	// config gives no statement (v3 then sets no policy).
	StackPolicy      []byte
	NotificationARNs []string
	RoleARN          string
	DisableRollback  bool
	// StackParameters are provider.stackParameters, sent with every
	// operation on the full template.
	StackParameters []cftypes.Parameter
	// RollbackConfiguration is provider.rollbackConfiguration, sent with
	// change sets and direct updates (v3 leaves it off a direct create).
	RollbackConfiguration *cftypes.RollbackConfiguration
	// S3Accelerate is --aws-s3-accelerate: uploads go through S3 Transfer
	// Acceleration once the deployment bucket has it.
	S3Accelerate bool
}

// KeepNoArtifacts is MaxPreviousArtifacts for
// maxPreviousDeploymentArtifacts: 0. v3 then removes every deployment
// directory after the deploy, the new one included (cleanup-s3-bucket.js
// slices with -0 || Infinity).
const KeepNoArtifacts = -1

// Template and state file names inside a deployment directory.
const (
	CompiledTemplateFile = "compiled-cloudformation-template.json"
	StateFileName        = "serverless-state.json"
)

// deploymentDirRE matches the timestamped directory segment v3 creates.
var deploymentDirRE = regexp.MustCompile(`^\d+-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}`)

// ServicePrefix is the S3 folder holding every deployment of the stage.
func (b *Bundle) ServicePrefix() string {
	return b.Prefix + "/" + b.Service + "/" + b.Stage + "/"
}

// sha256Base64 is the filesha256 metadata v3 stores on each object.
func sha256Base64(data []byte) string {
	sum := sha256.Sum256(data)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// NormalizedTemplateHash hashes the template the way v3's change check
// does: deployment resources renamed to fixed IDs, code S3 keys blanked, and
// keys sorted, so a new timestamp alone is not a change.
func NormalizedTemplateHash(template []byte) (string, error) {
	var t map[string]any
	if err := json.Unmarshal(template, &t); err != nil {
		return "", err
	}
	res, _ := t["Resources"].(map[string]any)
	for id, v := range res {
		r, _ := v.(map[string]any)
		switch {
		case strings.HasPrefix(id, "ApiGatewayDeployment"):
			delete(res, id)
			res["ApiGatewayDeployment"] = v
		case strings.HasPrefix(id, "WebsocketsDeployment") && id != "WebsocketsDeploymentStage":
			delete(res, id)
			res["WebsocketsDeployment"] = v
		}
		props, _ := r["Properties"].(map[string]any)
		switch r["Type"] {
		case "AWS::Lambda::Function":
			if code, ok := props["Code"].(map[string]any); ok {
				code["S3Key"] = ""
			}
		case "AWS::Lambda::LayerVersion":
			if content, ok := props["Content"].(map[string]any); ok {
				content["S3Key"] = ""
			}
		}
		if id == "WebsocketsDeploymentStage" {
			if dep, ok := props["DeploymentId"].(map[string]any); ok {
				dep["Ref"] = "WebsocketsDeployment"
			}
		}
	}
	return hashJSON(t)
}

// NormalizedStateHash hashes serverless-state.json minus what changes on
// every run (the templates inside it, the artifact directory).
func NormalizedStateHash(state []byte) (string, error) {
	var s map[string]any
	if err := json.Unmarshal(state, &s); err != nil {
		return "", err
	}
	if svc, ok := s["service"].(map[string]any); ok {
		delete(svc, "initialServerlessConfig")
		if p, ok := svc["provider"].(map[string]any); ok {
			delete(p, "coreCloudFormationTemplate")
			delete(p, "compiledCloudFormationTemplate")
		}
	}
	if p, ok := s["package"].(map[string]any); ok {
		delete(p, "artifactDirectoryName")
	}
	return hashJSON(s)
}

// hashJSON hashes compact JSON with sorted keys (Go's encoding sorts maps).
func hashJSON(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return sha256Base64([]byte(strings.TrimSuffix(b.String(), "\n"))), nil
}

// LocalHashes are the hashes the change check compares with the last
// deployment: template, state and every artifact, sorted.
func (b *Bundle) LocalHashes() ([]string, error) {
	th, err := NormalizedTemplateHash(b.Template)
	if err != nil {
		return nil, err
	}
	sh, err := NormalizedStateHash(b.State)
	if err != nil {
		return nil, err
	}
	hashes := []string{th, sh}
	seen := map[string]bool{}
	for _, a := range b.Artifacts {
		if seen[a] {
			continue
		}
		seen[a] = true
		h, err := packaging.FileSHA256(a)
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	return hashes, nil
}

// uploadName is the object name of an artifact inside the deployment dir.
func uploadName(path string) string { return filepath.Base(path) }
