package pool

import (
	"context"
	"testing"
	"time"
)

const deadlineNode = `
exports.handler = async (event, context) => {
  const remaining = context.getRemainingTimeInMillis();
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { pid: process.pid, remaining };
};
`

func TestNoTimeoutLetsInvocationsOutliveTheirTimeout(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: t
provider: {name: aws, runtime: nodejs20.x}
functions:
  slow: {handler: h.handler, timeout: 1}
`
	log := &syncBuffer{}
	p, _ := startPool(t, yml, map[string]string{"h.js": deadlineNode}, Options{Log: log, NoTimeout: true})
	first := decode(t, invoke(t, p, "slow", `{}`).Payload)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, "slow", []byte(`{"sleepMs":1300}`))
	if err != nil {
		t.Fatalf("invocation past the 1 s timeout failed: %v\n%s", err, log.String())
	}
	late := decode(t, res.Payload)
	if res.FunctionError != "" || late["pid"] != first["pid"] {
		t.Errorf("want the same instance to answer: first %v, then %s", first["pid"], res.Payload)
	}
	// The handler still sees its function's deadline, as under
	// serverless-offline's --noTimeout.
	if r, _ := late["remaining"].(float64); r <= 0 || r > 1000 {
		t.Errorf("getRemainingTimeInMillis() = %v, want within the 1 s timeout", late["remaining"])
	}
	if contains(log.String(), "Task timed out") {
		t.Errorf("timeout logged under NoTimeout:\n%s", log.String())
	}
}

func TestHostEnvironIsBeneathTheServiceEnvironment(t *testing.T) {
	t.Parallel()
	requireTool(t, "node")
	yml := `service: envsvc
provider:
  name: aws
  runtime: nodejs20.x
  region: eu-west-1
  environment:
    OVERRIDDEN: provider
functions:
  env: {handler: h.handler}
`
	files := map[string]string{"h.js": `exports.handler = async () => process.env;`}
	host := []string{"FROM_SHELL=yes", "OVERRIDDEN=shell", "AWS_REGION=us-west-2", "EQUALS=a=b", "=bogus", "NOEQUALS"}
	p, _ := startPool(t, yml, files, Options{HostEnviron: host})
	env := decode(t, invoke(t, p, "env", `{}`).Payload)
	for k, want := range map[string]string{"FROM_SHELL": "yes", "EQUALS": "a=b", "OVERRIDDEN": "provider", "AWS_REGION": "eu-west-1"} {
		if env[k] != want {
			t.Errorf("%s = %v, want %q", k, env[k], want)
		}
	}

	strict, _ := startPool(t, yml, files, Options{})
	if _, ok := decode(t, invoke(t, strict, "env", `{}`).Payload)["FROM_SHELL"]; ok {
		t.Error("host variable passed without HostEnviron")
	}
}

// TestNoTimeoutOverRPC is the same for aws-lambda-go's RPC protocol, whose
// connection deadline is the function's timeout unless NoTimeout.
func TestNoTimeoutOverRPC(t *testing.T) {
	t.Parallel()
	requireTool(t, "go")
	yml := `service: gosvc
provider: {name: aws, runtime: provided.al2023}
functions:
  echo: {handler: bootstrap, timeout: 1}
`
	p, dir := startPool(t, yml, nil, Options{NoTimeout: true})
	buildGoEcho(t, dir, "")
	first := decode(t, invoke(t, p, "echo", `{"quiet":true}`).Payload)
	if !servedOverRPC(t, p, "echo") {
		t.Fatal("the aws-lambda-go handler is not served over RPC")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, "echo", []byte(`{"quiet":true,"sleepMs":1300}`))
	if err != nil {
		t.Fatalf("invocation past the 1 s timeout failed: %v", err)
	}
	late := decode(t, res.Payload)
	if res.FunctionError != "" || late["pid"] != first["pid"] {
		t.Errorf("want the same instance to answer: first %v, then %s", first["pid"], res.Payload)
	}
	// The next call on the same connection is not cut by a stale deadline.
	if again := decode(t, invoke(t, p, "echo", `{"quiet":true}`).Payload); again["pid"] != first["pid"] {
		t.Errorf("instance replaced after a long call: %v then %v", first["pid"], again["pid"])
	}
}
