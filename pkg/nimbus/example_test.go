package nimbus_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// exampleService writes a small Python service into a temporary folder:
// one function behind an HTTP API route.
func exampleService() string {
	dir, err := os.MkdirTemp("", "nimbus-example-")
	if err != nil {
		log.Fatal(err)
	}
	files := map[string]string{
		"serverless.yml": `service: greeter
provider:
  name: aws
  runtime: python3.12
  environment:
    GREETING: Hello
functions:
  greet:
    handler: handler.greet
    events:
      - httpApi: GET /greet/{name}
`,
		"handler.py": `import json, os

def greet(event, context):
    name = (event.get("pathParameters") or {}).get("name", "world")
    return {"statusCode": 200, "body": json.dumps({"message": f"{os.environ['GREETING']}, {name}!"})}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	return dir
}

// Load a service and package it as serverless v3 would: the template has
// v3's logical IDs, so a stack v3 deployed is updated in place.
func Example() {
	dir := exampleService()
	defer os.RemoveAll(dir)

	ctx := context.Background()
	p, err := nimbus.Load(ctx, nimbus.Options{Dir: dir, Stage: "dev", Region: "us-east-1"})
	if err != nil {
		nimbus.RenderError(os.Stderr, err, p)
		os.Exit(1)
	}
	res, err := nimbus.Package(ctx, p, nimbus.PackageOptions{})
	if err != nil {
		log.Fatal(err)
	}
	var ids []string
	for id := range res.Template.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Println(p.Service.Name, p.Service.Stage, p.Service.Region)
	for _, id := range ids {
		typ := res.Template.Resource(id)["Type"]
		if typ == "AWS::Lambda::Version" {
			// v3 names versions by a hash of the code and configuration.
			id = "GreetLambdaVersion<hash>"
		}
		fmt.Println(id, typ)
	}
	// Output:
	// greeter dev us-east-1
	// GreetLambdaFunction AWS::Lambda::Function
	// GreetLambdaPermissionHttpApi AWS::Lambda::Permission
	// GreetLambdaVersion<hash> AWS::Lambda::Version
	// GreetLogGroup AWS::Logs::LogGroup
	// HttpApi AWS::ApiGatewayV2::Api
	// HttpApiIntegrationGreet AWS::ApiGatewayV2::Integration
	// HttpApiRouteGetGreetNameVar AWS::ApiGatewayV2::Route
	// HttpApiStage AWS::ApiGatewayV2::Stage
	// IamRoleLambdaExecution AWS::IAM::Role
	// ServerlessDeploymentBucket AWS::S3::Bucket
	// ServerlessDeploymentBucketPolicy AWS::S3::BucketPolicy
}

// Run the service on this machine and call it over HTTP, as `nimbus dev`
// does: the handler runs behind the real Lambda Runtime API.
func ExampleProject_Dev() {
	dir := exampleService()
	defer os.RemoveAll(dir)

	ctx := context.Background()
	p, err := nimbus.Load(ctx, nimbus.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	// Port -1 picks a free port; the servers bind 127.0.0.1.
	s, err := p.Dev(ctx, nimbus.DevOptions{HTTPPort: -1, LambdaPort: -1, AWSPort: -1, NoWatch: true, Log: io.Discard})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	for _, e := range s.Endpoints() {
		fmt.Println(e.Method, e.Function)
	}
	resp, err := http.Get(s.HTTPURL + "/greet/gopher")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// GET greet
	// 200 {"message": "Hello, gopher!"}
}

// Run one function once, as `nimbus invoke local` does.
func ExampleProject_InvokeLocal() {
	dir := exampleService()
	defer os.RemoveAll(dir)

	ctx := context.Background()
	p, err := nimbus.Load(ctx, nimbus.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.InvokeLocal(ctx, nimbus.InvokeLocalOptions{
		Function: "greet",
		Event:    []byte(`{"pathParameters": {"name": "SDK"}}`),
		Env:      map[string]string{"GREETING": "Hi"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Failed(), string(res.Payload))
	// Output:
	// false {"statusCode": 200, "body": "{\"message\": \"Hi, SDK!\"}"}
}

// Preview a deploy, then deploy: the same steps as `nimbus plan` and
// `nimbus deploy`. AWS access uses the SDK's default credential chain;
// AWS_ENDPOINT_URL points it at moto or LocalStack.
func ExampleMakePlan() {
	ctx := context.Background()
	p, err := nimbus.Load(ctx, nimbus.Options{Dir: ".", Stage: "prod"})
	if err != nil {
		nimbus.RenderError(os.Stderr, err, p)
		os.Exit(1)
	}
	plan, err := nimbus.MakePlan(ctx, p, nimbus.PackageOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", plan)
	res, err := nimbus.Deploy(ctx, p, nimbus.DeployOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Stack, res.Outputs["HttpApiUrl"])
}
