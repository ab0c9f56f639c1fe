// Command goecho is a test handler on the unchanged aws-lambda-go runtime
// client: it echoes the event with what the Lambda context and environment
// tell it, fails on request and panics on request.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Say   string `json:"say"`
	Fail  bool   `json:"fail"`
	Sleep int    `json:"sleepMs"`
	Exit  bool   `json:"exit"`
	Quiet bool   `json:"quiet"`
	Panic bool   `json:"panic"`
}

func handle(ctx context.Context, ev event) (map[string]any, error) {
	if ev.Sleep > 0 {
		time.Sleep(time.Duration(ev.Sleep) * time.Millisecond)
	}
	if ev.Exit {
		fmt.Println("exiting on request")
		os.Exit(3)
	}
	if ev.Panic {
		panic("panicking on request: " + ev.Say)
	}
	if ev.Fail {
		return nil, errors.New("failing on request: " + ev.Say)
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	if !ev.Quiet {
		fmt.Println("handling", ev.Say)
	}
	return map[string]any{
		"said":         ev.Say,
		"requestId":    lc.AwsRequestID,
		"functionArn":  lc.InvokedFunctionArn,
		"functionName": lambdacontext.FunctionName,
		"memory":       lambdacontext.MemoryLimitInMB,
		"hasDeadline":  time.Until(deadline) > 0,
		"greeting":     os.Getenv("GREETING"),
		"pid":          os.Getpid(),
		"identityId":   lc.Identity.CognitoIdentityID,
		"clientCustom": lc.ClientContext.Custom,
		"amznTraceId":  ctx.Value("x-amzn-trace-id"),
	}, nil
}

func main() { lambda.Start(handle) }
