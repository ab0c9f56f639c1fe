package aws

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// The tests here follow serverless v3's stack operations
// (lib/plugins/aws/lib/get-*-params.js, deploy/lib/create-stack.js,
// lib/update-stack.js): which request carries which provider setting.

const denyReplacePolicy = `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"Update:Replace","Resource":"LogicalResourceId/Table"}]}`

func withPolicy(b *Bundle) *Bundle {
	b.StackPolicy = []byte(denyReplacePolicy)
	return b
}

func TestChangeSetUpdateSetsStackPolicyAfterTheStackIsUpdated(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	rep := &recordingReporter{}
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}},
		withPolicy(testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")), DeployOptions{Reporter: rep})
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.policies) != 1 || cf.policies[0] != denyReplacePolicy {
		t.Fatalf("policies set = %q, want the provider.stackPolicy document once", cf.policies)
	}
	// After the update ended: the policy may name resources it added.
	set := indexOf(cf.calls, "SetStackPolicy")
	if set < indexOf(cf.calls, "ExecuteChangeSet") || cf.status != "UPDATE_COMPLETE" || len(cf.running) != 0 {
		t.Errorf("calls = %v, want SetStackPolicy once the update completed", cf.calls)
	}
	if indexOf(rep.steps, "Setting stack policy") < 0 {
		t.Errorf("steps = %v", rep.steps)
	}
}

func TestFirstChangeSetDeploySetsStackPolicyOnlyAfterTheUpdate(t *testing.T) {
	cf := &fakeCloudFormation{outputs: map[string]string{"ServerlessDeploymentBucketName": testBucket}, scripts: [][]step{
		{{status: "CREATE_IN_PROGRESS"}, {status: "CREATE_COMPLETE"}},
		updateOK,
	}}
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}},
		withPolicy(testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")), DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// v3's create() of the core stack sets none; the update after it does.
	execs := 0
	for i, c := range cf.calls {
		if c == "ExecuteChangeSet" {
			execs++
		}
		if c == "SetStackPolicy" && execs != 2 {
			t.Errorf("SetStackPolicy at call %d after %d executions: %v", i, execs, cf.calls)
		}
	}
	if countOf(cf.calls, "SetStackPolicy") != 1 {
		t.Errorf("calls = %v, want one SetStackPolicy", cf.calls)
	}
}

func TestStackPolicyIsLeftAloneWhenTheStackDoesNotChange(t *testing.T) {
	t.Run("skipped deploy", func(t *testing.T) {
		cf := existingStack("UPDATE_COMPLETE")
		cf.scripts = [][]step{updateOK}
		c := &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{lastModified: time.Now().Add(time.Hour)}}
		if _, err := Deploy(context.Background(), c, withPolicy(testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")), DeployOptions{}); err != nil {
			t.Fatal(err)
		}
		cf.calls = nil
		res, err := Deploy(context.Background(), c, withPolicy(testBundle(t, "1700000099999-2023-11-14T22:14:59.999Z")), DeployOptions{})
		if err != nil || !res.Skipped {
			t.Fatalf("second deploy: %+v, %v", res, err)
		}
		if indexOf(cf.calls, "SetStackPolicy") >= 0 {
			t.Errorf("a skipped deploy set the stack policy: %v", cf.calls)
		}
	})
	t.Run("empty change set", func(t *testing.T) {
		cf := existingStack("UPDATE_COMPLETE")
		cf.changeSetEmpty = true
		res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}},
			withPolicy(testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")), DeployOptions{})
		if err != nil || !res.NoStackUpdate {
			t.Fatalf("%+v, %v", res, err)
		}
		if indexOf(cf.calls, "SetStackPolicy") >= 0 {
			t.Errorf("an empty change set set the stack policy: %v", cf.calls)
		}
	})
	t.Run("stack created from a named bucket", func(t *testing.T) {
		cf := &fakeCloudFormation{scripts: [][]step{{{status: "CREATE_IN_PROGRESS"}, {status: "CREATE_COMPLETE"}}}}
		res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(ownedBucket), Lambda: fakeLambda{}},
			withPolicy(namedBucketBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")), DeployOptions{})
		if err != nil || !res.Created {
			t.Fatalf("%+v, %v", res, err)
		}
		// v3's createFallback returns before the policy step.
		if indexOf(cf.calls, "SetStackPolicy") >= 0 {
			t.Errorf("creating the stack set the stack policy: %v", cf.calls)
		}
	})
	t.Run("failed update", func(t *testing.T) {
		cf := existingStack("UPDATE_COMPLETE")
		cf.scripts = [][]step{{{status: "UPDATE_IN_PROGRESS"}, {status: "UPDATE_ROLLBACK_COMPLETE"}}}
		_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}},
			withPolicy(testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")), DeployOptions{})
		var sf *StackFailure
		if !errors.As(err, &sf) {
			t.Fatalf("err = %v", err)
		}
		if indexOf(cf.calls, "SetStackPolicy") >= 0 {
			t.Errorf("a rolled-back update set the stack policy: %v", cf.calls)
		}
	})
}

func TestDirectUpdateCarriesStackPolicyInUpdateStackOnly(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	b := withPolicy(testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"))
	b.Direct = true
	if _, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, b, DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(cf.updates) != 1 || aws.ToString(cf.updates[0].StackPolicyBody) != denyReplacePolicy {
		t.Fatalf("UpdateStack requests = %+v, want one with the policy", cf.updates)
	}
	if indexOf(cf.calls, "SetStackPolicy") >= 0 {
		t.Errorf("direct deploy called SetStackPolicy too: %v", cf.calls)
	}
}

func TestDirectCreateDeletesAFailedStackUnlessRollbackIsDisabled(t *testing.T) {
	for _, disable := range []bool{false, true} {
		cf := &fakeCloudFormation{outputs: map[string]string{"ServerlessDeploymentBucketName": testBucket}, scripts: [][]step{
			{{status: "CREATE_IN_PROGRESS"}, {status: "CREATE_COMPLETE"}},
			updateOK,
		}}
		b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
		b.Direct, b.DisableRollback = true, disable
		b.RollbackConfiguration = &cftypes.RollbackConfiguration{MonitoringTimeInMinutes: aws.Int32(5)}
		if _, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, b, DeployOptions{}); err != nil {
			t.Fatal(err)
		}
		if len(cf.creates) != 1 {
			t.Fatalf("CreateStack requests = %d", len(cf.creates))
		}
		in := cf.creates[0]
		if disable {
			if in.OnFailure != "" || !aws.ToBool(in.DisableRollback) {
				t.Errorf("disableRollback: OnFailure %q DisableRollback %v, want only DisableRollback true", in.OnFailure, in.DisableRollback)
			}
		} else if in.OnFailure != cftypes.OnFailureDelete || in.DisableRollback != nil {
			t.Errorf("OnFailure %q DisableRollback %v, want OnFailure DELETE alone (CloudFormation refuses both)", in.OnFailure, in.DisableRollback)
		}
		if in.RollbackConfiguration != nil {
			t.Error("CreateStack carries a rollback configuration; v3 sends none there")
		}
		if up := cf.updates[0]; aws.ToInt32(up.RollbackConfiguration.MonitoringTimeInMinutes) != 5 || aws.ToBool(up.DisableRollback) != disable {
			t.Errorf("UpdateStack rollback settings = %+v, %v", up.RollbackConfiguration, up.DisableRollback)
		}
	}
}

func TestChangeSetsCarryStackParametersAndRollbackConfiguration(t *testing.T) {
	cf := &fakeCloudFormation{outputs: map[string]string{"ServerlessDeploymentBucketName": testBucket}, scripts: [][]step{
		{{status: "CREATE_IN_PROGRESS"}, {status: "CREATE_COMPLETE"}},
		updateOK,
	}}
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	b.StackParameters = []cftypes.Parameter{{ParameterKey: aws.String("TableName"), ParameterValue: aws.String("orders")}}
	b.RollbackConfiguration = &cftypes.RollbackConfiguration{
		MonitoringTimeInMinutes: aws.Int32(10),
		RollbackTriggers:        []cftypes.RollbackTrigger{{Arn: aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors"), Type: aws.String("AWS::CloudWatch::Alarm")}},
	}
	if _, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, b, DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(cf.changeSets) != 2 {
		t.Fatalf("change sets = %d", len(cf.changeSets))
	}
	core, update := cf.changeSets[0], cf.changeSets[1]
	// The core template declares no parameters, so CloudFormation would
	// refuse values for them.
	if len(core.Parameters) != 0 {
		t.Errorf("core stack change set has parameters %+v", core.Parameters)
	}
	if len(update.Parameters) != 1 || aws.ToString(update.Parameters[0].ParameterKey) != "TableName" || aws.ToString(update.Parameters[0].ParameterValue) != "orders" {
		t.Errorf("update parameters = %+v", update.Parameters)
	}
	for _, cs := range []string{"CREATE", "UPDATE"} {
		in := core
		if cs == "UPDATE" {
			in = update
		}
		rc := in.RollbackConfiguration
		if rc == nil || aws.ToInt32(rc.MonitoringTimeInMinutes) != 10 || len(rc.RollbackTriggers) != 1 {
			t.Errorf("%s change set rollback configuration = %+v", cs, rc)
		}
	}
}

func TestDeployRefusesAStackWaitingForReviewAsV3Does(t *testing.T) {
	cf := existingStack("REVIEW_IN_PROGRESS")
	_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{})
	var inactive *InactiveStackError
	if !errors.As(err, &inactive) || inactive.Status != "REVIEW_IN_PROGRESS" {
		t.Fatalf("err = %v, want an InactiveStackError", err)
	}
	for _, want := range []string{"svc-dev", "'REVIEW_IN_PROGRESS'", "nimbus remove"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	for _, c := range cf.calls {
		if strings.HasPrefix(c, "CreateChangeSet") || c == "CreateStack" {
			t.Errorf("calls = %v: nothing may be created next to a stack under review", cf.calls)
		}
	}
}

func TestDeployRefusesAStackNameCloudFormationWouldRefuse(t *testing.T) {
	for name, valid := range map[string]bool{
		"svc-dev":                      true,
		"Svc-Prod2":                    true,
		"svc-dev_1":                    false,
		"1svc-dev":                     false,
		"svc.dev":                      false,
		"s" + strings.Repeat("a", 127): true,
		"s" + strings.Repeat("a", 128): false,
	} {
		cf := existingStack("UPDATE_COMPLETE")
		cf.scripts = [][]step{updateOK}
		b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
		b.StackName = name
		_, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}}, b, DeployOptions{})
		if valid && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !valid {
			if err == nil || !strings.Contains(err.Error(), "is not valid") {
				t.Errorf("%s: err = %v, want v3's invalid stack name error", name, err)
			}
			if len(cf.calls) != 0 {
				t.Errorf("%s: calls %v before refusing", name, cf.calls)
			}
		}
	}
}

func TestRollbackSetsStackPolicyAfterTheUpdateAsV3Does(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	s3 := newFakeS3(testBucket)
	s3.objects[testBucket]["serverless/svc/dev/1600000000000-2020-09-13T12:26:40.000Z/"+CompiledTemplateFile] = []byte(`{"Resources":{}}`)
	c := &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}
	// v3's rollback runs update-stack.js's update(), policy step included.
	if _, err := Rollback(context.Background(), c, withPolicy(testBundle(t, "x")), 1600000000000, nil); err != nil {
		t.Fatal(err)
	}
	if len(cf.policies) != 1 || cf.policies[0] != denyReplacePolicy || indexOf(cf.calls, "SetStackPolicy") < indexOf(cf.calls, "ExecuteChangeSet") {
		t.Errorf("policies %q, calls %v: want the policy set once the rollback's update ended", cf.policies, cf.calls)
	}
}
