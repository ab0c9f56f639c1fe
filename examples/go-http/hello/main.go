// Command hello is an HTTP API (payload 2.0) handler on aws-lambda-go.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if req.RequestContext.HTTP.Method == "POST" {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: req.Body, IsBase64Encoded: req.IsBase64Encoded,
			Headers: map[string]string{"Content-Type": req.Headers["content-type"]}}, nil
	}
	name := req.PathParameters["name"]
	if name == "" {
		name = "world"
	}
	body, _ := json.Marshal(map[string]string{
		"message":  os.Getenv("GREETING") + ", " + name + "!",
		"routeKey": req.RouteKey,
		"function": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
	})
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(body), Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func main() { lambda.Start(handle) }
