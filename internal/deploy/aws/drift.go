package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// DriftReport lists resources whose live configuration no longer matches
// the stack.
type DriftReport struct {
	Stack string `json:"stack"`
	// Method is "cloudformation" (CloudFormation drift detection) or
	// "service-api" (Nimbus compared the Lambda API with the deployed
	// template, where drift detection is not available).
	Method    string            `json:"method"`
	Resources []DriftedResource `json:"resources"`
}

// DriftedResource is one drifted resource.
type DriftedResource struct {
	LogicalID   string   `json:"logicalId"`
	Type        string   `json:"type"`
	Status      string   `json:"status"` // MODIFIED or DELETED
	Differences []string `json:"differences,omitempty"`
}

// Drift detects drift with CloudFormation, falling back to comparing the
// functions' live configuration with the deployed template.
func Drift(ctx context.Context, c *Clients, b *Bundle) (*DriftReport, error) {
	if _, err := describeStack(ctx, c.CloudFormation, b.StackName); err != nil {
		if isStackMissing(err) {
			return nil, fmt.Errorf("stack %s does not exist: deploy the service first", b.StackName)
		}
		return nil, err
	}
	report, err := cloudFormationDrift(ctx, c.CloudFormation, b.StackName)
	if err == nil {
		return report, nil
	}
	if !driftUnsupported(err) {
		return nil, CredentialsError(err)
	}
	return serviceAPIDrift(ctx, c, b.StackName)
}

// driftUnsupported recognises an endpoint without drift detection: an
// explicit "not implemented" answer, or (emulators) a server error whose
// body is not even a CloudFormation error document.
func driftUnsupported(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "not yet been implemented") || strings.Contains(msg, "NotImplemented") ||
		strings.Contains(msg, "InvalidAction") || strings.Contains(msg, "Unknown action") ||
		strings.Contains(msg, "StatusCode: 404") || strings.Contains(msg, "StatusCode: 501") ||
		(strings.Contains(msg, "StatusCode: 500") && strings.Contains(msg, "deserializing"))
}

func cloudFormationDrift(ctx context.Context, cf CloudFormation, stack string) (*DriftReport, error) {
	det, err := cf.DetectStackDrift(ctx, &cloudformation.DetectStackDriftInput{StackName: aws.String(stack)}, func(o *cloudformation.Options) {
		o.RetryMaxAttempts = 1 // an unsupported call should not be retried
	})
	if err != nil {
		return nil, err
	}
	for {
		st, err := cf.DescribeStackDriftDetectionStatus(ctx, &cloudformation.DescribeStackDriftDetectionStatusInput{StackDriftDetectionId: det.StackDriftDetectionId})
		if err != nil {
			return nil, err
		}
		if st.DetectionStatus == cftypes.StackDriftDetectionStatusDetectionFailed {
			return nil, fmt.Errorf("drift detection failed: %s", str(st.DetectionStatusReason))
		}
		if st.DetectionStatus == cftypes.StackDriftDetectionStatusDetectionComplete {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollInterval):
		}
	}
	report := &DriftReport{Stack: stack, Method: "cloudformation"}
	var token *string
	for {
		resp, err := cf.DescribeStackResourceDrifts(ctx, &cloudformation.DescribeStackResourceDriftsInput{
			StackName: aws.String(stack), NextToken: token,
			StackResourceDriftStatusFilters: []cftypes.StackResourceDriftStatus{cftypes.StackResourceDriftStatusModified, cftypes.StackResourceDriftStatusDeleted},
		})
		if err != nil {
			return nil, err
		}
		for _, d := range resp.StackResourceDrifts {
			r := DriftedResource{LogicalID: str(d.LogicalResourceId), Type: str(d.ResourceType), Status: string(d.StackResourceDriftStatus)}
			for _, p := range d.PropertyDifferences {
				r.Differences = append(r.Differences, fmt.Sprintf("%s: expected %s, actual %s", str(p.PropertyPath), str(p.ExpectedValue), str(p.ActualValue)))
			}
			report.Resources = append(report.Resources, r)
		}
		if resp.NextToken == nil {
			return report, nil
		}
		token = resp.NextToken
	}
}

// serviceAPIDrift compares each deployed Lambda function's live settings
// with the plain values the stack's template declares for it. Intrinsic
// values (Ref, GetAtt…) cannot be compared without resolving them and are
// left out.
func serviceAPIDrift(ctx context.Context, c *Clients, stack string) (*DriftReport, error) {
	report := &DriftReport{Stack: stack, Method: "service-api"}
	tpl, err := c.CloudFormation.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, CredentialsError(err)
	}
	var t struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal([]byte(str(tpl.TemplateBody)), &t); err != nil {
		return nil, fmt.Errorf("reading the deployed template: %w", err)
	}
	info, err := Info(ctx, c, &Bundle{StackName: stack})
	if err != nil {
		return nil, err
	}
	physical := map[string]string{}
	for _, r := range info.Resources {
		physical[r.LogicalID] = r.PhysicalID
	}
	ids := make([]string, 0, len(t.Resources))
	for id, r := range t.Resources {
		if r.Type == "AWS::Lambda::Function" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		name := physical[id]
		if name == "" {
			continue
		}
		live, err := c.Lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			report.Resources = append(report.Resources, DriftedResource{LogicalID: id, Type: "AWS::Lambda::Function", Status: "DELETED"})
			continue
		}
		props := t.Resources[id].Properties
		var diffs []string
		compare := func(prop string, actual any) {
			want, ok := props[prop]
			if !ok {
				return
			}
			if _, intrinsic := want.(map[string]any); intrinsic {
				return
			}
			if fmt.Sprint(want) != fmt.Sprint(actual) {
				diffs = append(diffs, fmt.Sprintf("%s: expected %v, actual %v", prop, want, actual))
			}
		}
		compare("Handler", str(live.Handler))
		compare("Runtime", string(live.Runtime))
		compare("MemorySize", aws.ToInt32(live.MemorySize))
		compare("Timeout", aws.ToInt32(live.Timeout))
		if env, ok := props["Environment"].(map[string]any); ok {
			vars, _ := env["Variables"].(map[string]any)
			liveVars := map[string]string{}
			if live.Environment != nil {
				liveVars = live.Environment.Variables
			}
			keys := make([]string, 0, len(vars))
			for k := range vars {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if s, ok := vars[k].(string); ok && liveVars[k] != s {
					diffs = append(diffs, fmt.Sprintf("Environment.Variables.%s: expected %q, actual %q", k, s, liveVars[k]))
				}
			}
		}
		if len(diffs) > 0 {
			report.Resources = append(report.Resources, DriftedResource{LogicalID: id, Type: "AWS::Lambda::Function", Status: "MODIFIED", Differences: diffs})
		}
	}
	return report, nil
}
