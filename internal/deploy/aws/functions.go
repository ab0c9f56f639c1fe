package aws

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/packaging"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// FunctionUpdate is what `deploy function` sends for one function.
type FunctionUpdate struct {
	Name     string
	Artifact string
	// Configuration, applied when it differs from the deployed one. Zero
	// values are left as deployed.
	Handler     string
	Runtime     string
	MemorySize  int32
	Timeout     int32
	Environment map[string]string
	Description string
	// UpdateConfig false means code only (--update-config not given and
	// nothing but code changed is the common case; v3 compares too).
	UpdateConfig bool
}

// FunctionUpdateResult says what changed.
type FunctionUpdateResult struct {
	CodeChanged, ConfigChanged bool
}

// DeployFunction updates one function's code (and configuration when it
// differs) directly through the Lambda API, without a stack update — v3's
// `deploy function`. Unchanged code is not sent again.
func DeployFunction(ctx context.Context, c *Clients, u FunctionUpdate) (*FunctionUpdateResult, error) {
	current, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(u.Name)})
	if err != nil {
		return nil, fmt.Errorf("function %s is not deployed: run nimbus deploy first (%w)", u.Name, CredentialsError(err))
	}
	res := &FunctionUpdateResult{}
	local, err := packaging.FileSHA256(u.Artifact)
	if err != nil {
		return nil, err
	}
	if str(current.Configuration.CodeSha256) != local {
		zip, err := os.ReadFile(u.Artifact)
		if err != nil {
			return nil, err
		}
		if _, err := c.Lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(u.Name), ZipFile: zip}); err != nil {
			return nil, CredentialsError(err)
		}
		res.CodeChanged = true
	}
	if cfg := configChanges(current.Configuration, u); cfg != nil {
		if res.CodeChanged {
			waitFunctionUpdated(ctx, c.Lambda, u.Name)
		}
		if _, err := c.Lambda.UpdateFunctionConfiguration(ctx, cfg); err != nil {
			return nil, CredentialsError(err)
		}
		res.ConfigChanged = true
	}
	return res, nil
}

// configChanges returns the configuration update to send, or nil when the
// deployed configuration already matches.
func configChanges(cur *lambdatypes.FunctionConfiguration, u FunctionUpdate) *lambda.UpdateFunctionConfigurationInput {
	in := &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(u.Name)}
	changed := false
	if u.Handler != "" && u.Handler != str(cur.Handler) {
		in.Handler, changed = aws.String(u.Handler), true
	}
	if u.Runtime != "" && u.Runtime != string(cur.Runtime) {
		in.Runtime, changed = lambdatypes.Runtime(u.Runtime), true
	}
	if u.MemorySize != 0 && u.MemorySize != aws.ToInt32(cur.MemorySize) {
		in.MemorySize, changed = aws.Int32(u.MemorySize), true
	}
	if u.Timeout != 0 && u.Timeout != aws.ToInt32(cur.Timeout) {
		in.Timeout, changed = aws.Int32(u.Timeout), true
	}
	if u.Description != "" && u.Description != str(cur.Description) {
		in.Description, changed = aws.String(u.Description), true
	}
	deployed := map[string]string{}
	if cur.Environment != nil && cur.Environment.Variables != nil {
		deployed = cur.Environment.Variables
	}
	if u.Environment != nil && !reflect.DeepEqual(deployed, u.Environment) {
		in.Environment, changed = &lambdatypes.Environment{Variables: u.Environment}, true
	}
	if !changed {
		return nil
	}
	return in
}

// waitFunctionUpdated waits until a code update finished: Lambda refuses a
// configuration change while one is in progress.
func waitFunctionUpdated(ctx context.Context, l Lambda, name string) {
	for i := 0; i < 60; i++ {
		resp, err := l.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil || resp.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(minPollInterval):
		}
	}
}

// InvokeResult is a deployed function's answer.
type InvokeResult struct {
	StatusCode    int32
	Payload       []byte
	FunctionError string
	// Log is the tail of the invocation's log (with --log).
	Log string
}

// Invoke calls a deployed function synchronously (`invoke -f`).
func Invoke(ctx context.Context, c *Clients, name string, payload []byte, clientContext string, withLog bool) (*InvokeResult, error) {
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload}
	if withLog {
		in.LogType = lambdatypes.LogTypeTail
	}
	if clientContext != "" {
		in.ClientContext = aws.String(base64.StdEncoding.EncodeToString([]byte(clientContext)))
	}
	resp, err := c.Lambda.Invoke(ctx, in)
	if err != nil {
		return nil, CredentialsError(err)
	}
	res := &InvokeResult{StatusCode: resp.StatusCode, Payload: resp.Payload, FunctionError: str(resp.FunctionError)}
	if resp.LogResult != nil {
		if raw, err := base64.StdEncoding.DecodeString(*resp.LogResult); err == nil {
			res.Log = string(raw)
		}
	}
	return res, nil
}

// LogEvent is one line of a function's log.
type LogEvent struct {
	Time    time.Time
	Stream  string
	Message string
}

// LogsOptions filter `logs`.
type LogsOptions struct {
	Start  time.Time
	Filter string
	// Tail keeps polling for new events until ctx ends.
	Tail     bool
	Interval time.Duration
}

// FunctionLogs streams a function's CloudWatch log events to emit, oldest first.
func FunctionLogs(ctx context.Context, c *Clients, function string, opts LogsOptions, emit func(LogEvent)) error {
	group := "/aws/lambda/" + function
	start := opts.Start
	seen := map[string]bool{}
	interval := opts.Interval
	if interval == 0 {
		interval = time.Second
	}
	for {
		var token *string
		for {
			in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), NextToken: token, Interleaved: aws.Bool(true)}
			if !start.IsZero() {
				in.StartTime = aws.Int64(start.UnixMilli())
			}
			if opts.Filter != "" {
				in.FilterPattern = aws.String(opts.Filter)
			}
			resp, err := c.Logs.FilterLogEvents(ctx, in)
			if err != nil {
				if strings.Contains(err.Error(), "ResourceNotFoundException") {
					return fmt.Errorf("no logs for %s yet (log group %s does not exist)", function, group)
				}
				return CredentialsError(err)
			}
			for _, e := range resp.Events {
				id := str(e.EventId)
				if seen[id] {
					continue
				}
				seen[id] = true
				emit(LogEvent{Time: time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(), Stream: str(e.LogStreamName), Message: str(e.Message)})
			}
			if resp.NextToken == nil {
				break
			}
			token = resp.NextToken
		}
		if !opts.Tail {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// Metrics is the CloudWatch API used by `metrics`.
type Metrics interface {
	GetMetricStatistics(context.Context, *cloudwatch.GetMetricStatisticsInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error)
}

// FunctionMetrics are a function's totals over a period.
type FunctionMetrics struct {
	Function                                string
	Invocations, Errors, Throttles          float64
	AverageDurationMs                       float64
	HasInvocations, HasErrors, HasDurations bool
}

// GetMetrics sums Lambda's CloudWatch metrics for each function between
// start and end (`metrics`).
func GetMetrics(ctx context.Context, m Metrics, functions []string, start, end time.Time) ([]FunctionMetrics, error) {
	period := int32(end.Sub(start).Seconds())
	if period < 60 {
		period = 60
	}
	period -= period % 60
	out := make([]FunctionMetrics, len(functions))
	err := parallel(ctx, len(functions), 4, func(i int) error {
		fm := FunctionMetrics{Function: functions[i]}
		for _, name := range []string{"Invocations", "Errors", "Throttles", "Duration"} {
			stat := cwtypes.StatisticSum
			if name == "Duration" {
				stat = cwtypes.StatisticAverage
			}
			resp, err := m.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
				Namespace: aws.String("AWS/Lambda"), MetricName: aws.String(name),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String(functions[i])}},
				StartTime:  aws.Time(start), EndTime: aws.Time(end), Period: aws.Int32(period),
				Statistics: []cwtypes.Statistic{stat},
			})
			if err != nil {
				return CredentialsError(err)
			}
			var sum, avg float64
			for _, dp := range resp.Datapoints {
				sum += aws.ToFloat64(dp.Sum)
				avg += aws.ToFloat64(dp.Average)
			}
			switch name {
			case "Invocations":
				fm.Invocations, fm.HasInvocations = sum, len(resp.Datapoints) > 0
			case "Errors":
				fm.Errors, fm.HasErrors = sum, len(resp.Datapoints) > 0
			case "Throttles":
				fm.Throttles = sum
			case "Duration":
				if n := len(resp.Datapoints); n > 0 {
					fm.AverageDurationMs, fm.HasDurations = avg/float64(n), true
				}
			}
		}
		out[i] = fm
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	return out, err
}
