// Command legacy is a REST API (payload 1.0) handler on aws-lambda-go.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	body, _ := json.Marshal(map[string]any{
		"id":       req.PathParameters["id"],
		"resource": req.Resource,
		"stage":    req.RequestContext.Stage,
		"query":    req.MultiValueQueryStringParameters,
	})
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(body), Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func main() { lambda.Start(handle) }
