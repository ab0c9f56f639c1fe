package schema

import (
	"strings"
	"testing"
)

func TestLiftConstructsFollowLiftSchema(t *testing.T) {
	const plugin = "plugins: [serverless-lift]\n"
	tests := []struct {
		name string
		yml  string
		want []string
	}{
		{"valid queue and storage", base + plugin + "lift: {automaticPermissions: false}\nconstructs:\n  jobs:\n    type: queue\n    worker: {handler: h.h, timeout: 10}\n    batchSize: 5\n  files:\n    type: storage\n    cors: '*'\n", nil},
		{"constructs without the plugin", base + "constructs:\n  jobs: {type: queue, worker: w}\n", []string{
			"Warning 5:1: constructs: unrecognized property 'constructs' [Settings of your own belong under 'custom'.]",
		}},
		{"misspelled queue setting", base + plugin + "constructs:\n  jobs:\n    type: queue\n    worker: w\n    maxRetry: 2\n", []string{
			"Warning 10:5: constructs.jobs.maxRetry: unrecognized property 'maxRetry'",
		}},
		{"queue needs a worker", base + plugin + "constructs:\n  jobs:\n    type: queue\n", []string{
			"Warning 7:3: constructs.jobs: must have required property 'worker'",
		}},
		{"batch size out of range", base + plugin + "constructs:\n  jobs:\n    type: queue\n    worker: w\n    batchSize: 0\n", []string{
			"Warning 10:16: constructs.jobs.batchSize: must be >= 1",
		}},
		{"storage encryption is s3 or kms", base + plugin + "constructs:\n  files:\n    type: storage\n    encryption: aes\n", []string{
			"constructs.files.encryption",
		}},
		{"valid webhook", base + plugin + "constructs:\n  hook:\n    type: webhook\n    path: /in\n    method: PUT\n    eventType: $request.body.type\n    authorizer: {handler: h.auth, memorySize: 256}\n", nil},
		{"webhook method is POST, PUT or PATCH", base + plugin + "constructs:\n  hook:\n    type: webhook\n    path: /in\n    insecure: true\n    method: GET\n", []string{
			"11:13: constructs.hook.method",
		}},
		{"webhook needs a path and its authorizer a handler", base + plugin + "constructs:\n  hook:\n    type: webhook\n    authorizer: {timeout: 3}\n", []string{
			"Warning 7:3: constructs.hook: must have required property 'path'",
			"constructs.hook.authorizer: must have required property 'handler'",
		}},
		{"database gsiCount is a whole number up to 20", base + plugin + "constructs:\n  db:\n    type: database/dynamodb-single-table\n    gsiCount: 2.5\n    localSecondaryIndexes: yes\n", []string{
			"constructs.db.gsiCount",
			"constructs.db.localSecondaryIndexes",
		}},
		{"valid static website", base + plugin + "constructs:\n  site:\n    type: static-website\n    path: public\n    domain: [a.example.com, b.example.com]\n    certificate: arn:cert\n    security: {allowIframe: true}\n", nil},
		{"website setting misspelled and domain not text", base + plugin + "constructs:\n  site:\n    type: single-page-app\n    path: dist\n    domain: {name: a.example.com}\n    errorpage: 404.html\n", []string{
			"Warning 10:13: constructs.site.domain: must be string or array",
			"Warning 11:5: constructs.site.errorpage: unrecognized property 'errorpage' [did you mean 'errorPage'?]",
		}},
		{"server-side website assets are paths from the root", base + plugin + "constructs:\n  site:\n    type: server-side-website\n    apiGateway: websocket\n    assets:\n      'css/*': css\n", []string{
			"constructs.site.apiGateway",
			"constructs.site.assets",
		}},
		{"valid server-side website", base + plugin + "constructs:\n  site:\n    type: server-side-website\n    apiGateway: rest\n    errorPage: e.html\n    assets:\n      '/css/*': css\n", nil},
		{"construct without type", base + plugin + "constructs:\n  files:\n    archive: 30\n", []string{
			"Warning 7:3: constructs.files: must have required property 'type'",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(Validate(parse(t, tt.yml)))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("diagnostic %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
