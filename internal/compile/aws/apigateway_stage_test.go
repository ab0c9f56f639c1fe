package aws

import (
	"reflect"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

func stageService(t *testing.T, provider string) *service.Service {
	t.Helper()
	yml := "service: shop\nprovider:\n  name: aws\n" + provider + "functions:\n  f:\n    handler: h.f\n    events:\n      - http: GET a\n"
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return service.New(root, ".", "serverless.yml", map[string]string{"stage": "prod", "region": "eu-west-1"})
}

// TestRestAPIStageUpdate pins the post-deploy stage patch to what v3's
// update-stage.js sends for the same provider settings.
func TestRestAPIStageUpdate(t *testing.T) {
	t.Run("nothing configured", func(t *testing.T) {
		if _, ok := RestAPIStageUpdateOf(stageService(t, ""), "api1", "aws", "123"); ok {
			t.Fatal("expected no stage update")
		}
	})
	t.Run("external api", func(t *testing.T) {
		svc := stageService(t, "  tags:\n    a: b\n  apiGateway:\n    restApiId: x\n    restApiRootResourceId: y\n")
		if _, ok := RestAPIStageUpdateOf(svc, "api1", "aws", "123"); ok {
			t.Fatal("expected no stage update for an external API")
		}
	})
	t.Run("tracing logs metrics tags", func(t *testing.T) {
		svc := stageService(t, `  tracing:
    apiGateway: true
  apiGateway:
    metrics: false
  stackTags:
    team: a
    cost: 10
  tags:
    team: b
  logs:
    restApi:
      level: ERROR
      fullExecutionData: false
      format: '$context.requestId'
`)
		u, ok := RestAPIStageUpdateOf(svc, "api1", "aws", "123456789012")
		if !ok {
			t.Fatal("expected a stage update")
		}
		want := []StagePatchOperation{
			{"replace", "/tracingEnabled", "true"},
			{"replace", "/*/*/metrics/enabled", "false"},
			{"replace", "/accessLogSettings/destinationArn", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/api-gateway/shop-prod"},
			{"replace", "/accessLogSettings/format", "$context.requestId"},
			{"replace", "/*/*/logging/dataTrace", "false"},
			{"replace", "/*/*/logging/loglevel", "ERROR"},
		}
		if !reflect.DeepEqual(u.Patch, want) {
			t.Errorf("patch = %v\nwant %v", u.Patch, want)
		}
		if !reflect.DeepEqual(u.Tags, map[string]string{"team": "b", "cost": "10"}) {
			t.Errorf("tags = %v", u.Tags)
		}
		if u.TagResourceArn != "arn:aws:apigateway:eu-west-1::/restapis/api1/stages/prod" || u.DeleteLogGroup != "" {
			t.Errorf("arn %q, delete %q", u.TagResourceArn, u.DeleteLogGroup)
		}
	})
	t.Run("access logging off", func(t *testing.T) {
		svc := stageService(t, "  logs:\n    restApi:\n      accessLogging: false\n      executionLogging: false\n")
		u, _ := RestAPIStageUpdateOf(svc, "api1", "aws", "1")
		want := []StagePatchOperation{
			{Op: "remove", Path: "/accessLogSettings"},
			{"replace", "/*/*/logging/dataTrace", "true"},
			{"replace", "/*/*/logging/loglevel", "OFF"},
		}
		if !reflect.DeepEqual(u.Patch, want) || u.DeleteLogGroup != "/aws/api-gateway/shop-prod" {
			t.Errorf("patch = %v, delete %q", u.Patch, u.DeleteLogGroup)
		}
	})
}

func TestStageTagChanges(t *testing.T) {
	apply, remove := StageTagChanges(
		map[string]string{"old": "1", "aws:cloudformation:stack-name": "s", "keep": "x"},
		map[string]string{"keep": "x", "new": "2"})
	if !reflect.DeepEqual(remove, []string{"old"}) {
		t.Errorf("remove = %v", remove)
	}
	if !reflect.DeepEqual(apply, map[string]string{"keep": "x", "new": "2"}) {
		t.Errorf("apply = %v", apply)
	}
	if apply, remove := StageTagChanges(map[string]string{"a": "1"}, map[string]string{"a": "1"}); apply != nil || remove != nil {
		t.Errorf("unchanged tags: apply %v remove %v", apply, remove)
	}
}
