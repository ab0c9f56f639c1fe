package aws

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// fakeMetrics returns two datapoints per metric and function.
type fakeMetrics struct{ asked []string }

func (f *fakeMetrics) GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error) {
	f.asked = append(f.asked, aws.ToString(in.MetricName)+"/"+aws.ToString(in.Dimensions[0].Value)+"/"+string(in.Statistics[0]))
	v := map[string][2]float64{"Invocations": {10, 5}, "Errors": {1, 0}, "Throttles": {0, 2}, "Duration": {100, 300}}[aws.ToString(in.MetricName)]
	return &cloudwatch.GetMetricStatisticsOutput{Datapoints: []cwtypes.Datapoint{
		{Sum: aws.Float64(v[0]), Average: aws.Float64(v[0])}, {Sum: aws.Float64(v[1]), Average: aws.Float64(v[1])},
	}}, nil
}

func TestGetMetricsSumsCountsAndAveragesDuration(t *testing.T) {
	m := &fakeMetrics{}
	end := time.Now()
	got, err := GetMetrics(context.Background(), m, []string{"svc-dev-b", "svc-dev-a"}, end.Add(-time.Hour), end)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Function != "svc-dev-a" {
		t.Fatalf("got %+v", got)
	}
	a := got[0]
	if a.Invocations != 15 || a.Errors != 1 || a.Throttles != 2 || a.AverageDurationMs != 200 || !a.HasDurations {
		t.Errorf("metrics = %+v", a)
	}
	if len(m.asked) != 8 {
		t.Errorf("asked %v", m.asked)
	}
}

func TestConfigChangesOnlyWhatDiffers(t *testing.T) {
	cur := &lambdatypes.FunctionConfiguration{Handler: aws.String("index.run"), Runtime: lambdatypes.RuntimeNodejs20x,
		MemorySize: aws.Int32(1024), Timeout: aws.Int32(6), Environment: &lambdatypes.EnvironmentResponse{Variables: map[string]string{"A": "1"}}}
	same := FunctionUpdate{Name: "f", Handler: "index.run", Runtime: "nodejs20.x", MemorySize: 1024, Timeout: 6, Environment: map[string]string{"A": "1"}}
	if in := configChanges(cur, same); in != nil {
		t.Errorf("identical configuration produced an update: %+v", in)
	}
	changed := same
	changed.MemorySize, changed.Environment = 512, map[string]string{"A": "2"}
	in := configChanges(cur, changed)
	if in == nil || aws.ToInt32(in.MemorySize) != 512 || in.Environment.Variables["A"] != "2" || in.Handler != nil {
		t.Errorf("update = %+v", in)
	}
	// Environment left nil (intrinsic values) is not touched.
	keep := same
	keep.Environment = nil
	if in := configChanges(cur, keep); in != nil {
		t.Errorf("nil environment produced an update: %+v", in)
	}
}
