package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// fakeSubscriptionFilters holds the filters of each log group.
type fakeSubscriptionFilters struct {
	Logs
	filters map[string][]logstypes.SubscriptionFilter
	deleted []string
}

func (f *fakeSubscriptionFilters) DescribeSubscriptionFilters(_ context.Context, in *cloudwatchlogs.DescribeSubscriptionFiltersInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeSubscriptionFiltersOutput, error) {
	fs, ok := f.filters[aws.ToString(in.LogGroupName)]
	if !ok {
		return nil, &logstypes.ResourceNotFoundException{Message: aws.String("The specified log group does not exist.")}
	}
	return &cloudwatchlogs.DescribeSubscriptionFiltersOutput{SubscriptionFilters: fs}, nil
}

func (f *fakeSubscriptionFilters) DeleteSubscriptionFilter(_ context.Context, in *cloudwatchlogs.DeleteSubscriptionFilterInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteSubscriptionFilterOutput, error) {
	f.deleted = append(f.deleted, aws.ToString(in.LogGroupName)+" "+aws.ToString(in.FilterName))
	return &cloudwatchlogs.DeleteSubscriptionFilterOutput{}, nil
}

func filter(name, dest string) logstypes.SubscriptionFilter {
	return logstypes.SubscriptionFilter{FilterName: aws.String(name), DestinationArn: aws.String(dest)}
}

const logFilterService = `service: svc
provider:
  name: aws
functions:
  reader:
    handler: h.reader
    events:
      - cloudwatchLog: /aws/lambda/source
`

// The tests here follow v3's checkLogGroupSubscriptionFilterResourceLimitExceeded
// (deploy/lib/check-for-changes.js).

func TestDeployRemovesTheStacksOldSubscriptionFilterFirst(t *testing.T) {
	svc := loadTestService(t, t.TempDir(), logFilterService)
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	// The stack's filter, once made for another function (renamed), and
	// the stack's filter the new template still has, and one made by hand.
	cf.resources = map[string]string{
		"ReaderLogsSubscriptionFilterCloudWatchLog1": "svc-dev-ReaderLogsSubscriptionFilterCloudWatchLog1-AAA",
	}
	logs := &fakeSubscriptionFilters{filters: map[string][]logstypes.SubscriptionFilter{
		"/aws/lambda/source": {
			filter("svc-dev-ReaderLogsSubscriptionFilterCloudWatchLog1-AAA", "arn:aws:lambda:us-east-1:123456789012:function:svc-dev-oldreader"),
			filter("by-hand", "arn:aws:lambda:us-east-1:123456789012:function:audit"),
		},
	}}
	c := &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}, Logs: logs, STS: accountIdentity{}, Region: "us-east-1"}
	if _, err := Deploy(context.Background(), c, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{Service: svc}); err != nil {
		t.Fatal(err)
	}
	if want := "/aws/lambda/source svc-dev-ReaderLogsSubscriptionFilterCloudWatchLog1-AAA"; strings.Join(logs.deleted, ";") != want {
		t.Errorf("deleted %v, want only the stack's filter with the old destination (%s)", logs.deleted, want)
	}
}

func TestDeployKeepsTheStacksMatchingSubscriptionFilter(t *testing.T) {
	svc := loadTestService(t, t.TempDir(), logFilterService)
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	cf.resources = map[string]string{"ReaderLogsSubscriptionFilterCloudWatchLog1": "svc-dev-ReaderLogsSubscriptionFilterCloudWatchLog1-AAA"}
	logs := &fakeSubscriptionFilters{filters: map[string][]logstypes.SubscriptionFilter{
		"/aws/lambda/source": {filter("svc-dev-ReaderLogsSubscriptionFilterCloudWatchLog1-AAA", "arn:aws:lambda:us-east-1:123456789012:function:svc-dev-reader")},
	}}
	c := &Clients{CloudFormation: cf, S3: newFakeS3(testBucket), Lambda: fakeLambda{}, Logs: logs, STS: accountIdentity{}, Region: "us-east-1"}
	if _, err := Deploy(context.Background(), c, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{Service: svc}); err != nil {
		t.Fatal(err)
	}
	if len(logs.deleted) != 0 {
		t.Errorf("deleted %v, want nothing: the filter is the one the template keeps", logs.deleted)
	}
}

func TestDeployStopsWhenFiltersMadeOutsideTheStackFillTheLogGroup(t *testing.T) {
	svc := loadTestService(t, t.TempDir(), logFilterService)
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	logs := &fakeSubscriptionFilters{filters: map[string][]logstypes.SubscriptionFilter{
		"/aws/lambda/source": {filter("by-hand-1", "arn:aws:lambda:us-east-1:123456789012:function:a"), filter("by-hand-2", "arn:aws:firehose:us-east-1:123456789012:deliverystream/b")},
	}}
	s3 := newFakeS3(testBucket)
	c := &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}, Logs: logs, STS: accountIdentity{}, Region: "us-east-1"}
	_, err := Deploy(context.Background(), c, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{Service: svc})
	var limit *LogFilterLimitError
	if !errors.As(err, &limit) || limit.LogGroup != "/aws/lambda/source" || !strings.Contains(err.Error(), "deleted manually") {
		t.Fatalf("err = %v, want v3's subscription filter limit error", err)
	}
	if len(logs.deleted) != 0 || len(s3.puts) != 0 || indexOf(cf.calls, "CreateChangeSet:UPDATE") >= 0 {
		t.Errorf("deleted %v, uploaded %v, calls %v: nothing may change before the error", logs.deleted, s3.puts, cf.calls)
	}
}
