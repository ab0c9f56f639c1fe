package aws

import (
	"testing"
)

func TestStackSettings(t *testing.T) {
	svc := loadServiceYAML(t, `service: stacky
provider:
  name: aws
  stackName: custom-stack
  stackTags:
    stage: overridden
    team: core
  stackPolicy:
    - Effect: Allow
      Principal: "*"
      Action: "Update:*"
      Resource: "*"
  notificationArns:
    - arn:aws:sns:us-east-1:123456789012:events
  iam:
    deploymentRole: arn:aws:iam::123456789012:role/cfn
  disableRollback: true
resources:
  Transform: AWS::Serverless-2016-10-31
`)
	res, ds := CompileService(Input{Service: svc})
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	s := StackSettingsOf(svc, res.Template)
	if s.Name != "custom-stack" {
		t.Errorf("Name = %q", s.Name)
	}
	// The default STAGE tag yields to a user tag that differs only in case.
	if len(s.Tags) != 2 || s.Tags[0] != (Tag{"stage", "overridden"}) || s.Tags[1] != (Tag{"team", "core"}) {
		t.Errorf("Tags = %v", s.Tags)
	}
	if len(s.Capabilities) != 3 || s.Capabilities[2] != "CAPABILITY_AUTO_EXPAND" {
		t.Errorf("Capabilities = %v (a Transform needs CAPABILITY_AUTO_EXPAND)", s.Capabilities)
	}
	if s.StackPolicyBody != `{"Statement":[{"Action":["Update:*"],"Effect":"Allow","Principal":"*","Resource":"*"}]}` {
		t.Errorf("StackPolicyBody = %s", s.StackPolicyBody)
	}
	if s.RoleARN != "arn:aws:iam::123456789012:role/cfn" || !s.DisableRollback || len(s.NotificationARNs) != 1 {
		t.Errorf("settings = %+v", s)
	}
}
