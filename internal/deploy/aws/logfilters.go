package aws

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	compileaws "github.com/nimbusfw/nimbus/internal/compile/aws"
	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/service"
)

// subscriptionFilters is asserted on Clients.Logs rather than added to Logs
// so that existing implementations of Logs keep compiling.
type subscriptionFilters interface {
	DescribeSubscriptionFilters(context.Context, *cloudwatchlogs.DescribeSubscriptionFiltersInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeSubscriptionFiltersOutput, error)
	DeleteSubscriptionFilter(context.Context, *cloudwatchlogs.DeleteSubscriptionFilterInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteSubscriptionFilterOutput, error)
}

// logFiltersPerGroup is CloudWatch Logs' limit of subscription filters on
// one log group.
const logFiltersPerGroup = 2

// wantedLogFilter is a subscription filter a cloudwatchLog event asks for.
type wantedLogFilter struct{ destinationARN, logicalID string }

// LogFilterLimitError is v3's CLOUDWATCHLOG_LOG_GROUP_EVENT_PER_FUNCTION_LIMIT_EXCEEDED:
// filters made outside the service leave no room for the service's own.
type LogFilterLimitError struct{ LogGroup string }

func (e *LogFilterLimitError) Error() string {
	return fmt.Sprintf("only %d subscription filters can be configured per log group. "+
		"There are subscription filters defined outside of the service definition for %q that have to be deleted manually", logFiltersPerGroup, e.LogGroup)
}

// fixLogSubscriptionFilters is v3's checkLogGroupSubscriptionFilterResourceLimitExceeded
// (deploy/lib/check-for-changes.js), run whenever the deploy goes ahead.
// CloudFormation creates a replaced subscription filter before deleting
// the old one, which breaks the two-per-group limit, so the stack's own
// filters that the new template no longer matches (another function or
// logical ID) are deleted first. Filters made outside the stack are kept,
// and a LogFilterLimitError reports when they leave too little room.
func fixLogSubscriptionFilters(ctx context.Context, c *Clients, b *Bundle, svc *service.Service) error {
	if svc == nil || c.STS == nil {
		return nil
	}
	events := svc.EventsOf("cloudwatchLog")
	if len(events) == 0 {
		return nil
	}
	api, ok := c.Logs.(subscriptionFilters)
	if !ok {
		return nil
	}
	who, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return CredentialsError(err)
	}
	functionARNPrefix := fmt.Sprintf("arn:%s:lambda:%s:%s:function:", partitionOf(aws.ToString(who.Arn)), b.Region, aws.ToString(who.Account))
	groups, order := wantedLogFilters(events, functionARNPrefix)
	for _, group := range order {
		if err := fixLogGroupFilters(ctx, c.CloudFormation, api, b.StackName, group, groups[group]); err != nil {
			return err
		}
	}
	return nil
}

// wantedLogFilters groups cloudwatchLog events by log group, in the order
// the config first names each group: every event wants its function
// (functionARNPrefix + deployed name) behind its filter's logical ID.
func wantedLogFilters(events []service.FunctionEvent, functionARNPrefix string) (map[string][]wantedLogFilter, []string) {
	groups := map[string][]wantedLogFilter{}
	var order []string
	for _, fe := range events {
		v := fe.Event.Value
		if v != nil && v.Kind == config.Map {
			v = v.Get("logGroup")
		}
		group := strings.NewReplacer("\r\n", "", "\n", "").Replace(v.Scalar0())
		if _, seen := groups[group]; !seen {
			order = append(order, group)
		}
		groups[group] = append(groups[group], wantedLogFilter{
			destinationARN: functionARNPrefix + fe.Function.Name,
			logicalID:      compileaws.CloudWatchLogLogicalID(fe.Function.Key, fe.N),
		})
	}
	return groups, order
}

func fixLogGroupFilters(ctx context.Context, cf CloudFormation, api subscriptionFilters, stack, group string, wanted []wantedLogFilter) error {
	resp, err := api.DescribeSubscriptionFilters(ctx, &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String(group)})
	if err != nil || len(resp.SubscriptionFilters) == 0 {
		// v3 reads a failed lookup (a group not created yet) as no filters.
		return nil
	}
	type existing struct {
		wantedLogFilter
		name     string
		internal bool
	}
	var current []existing
	external := 0
	for _, f := range resp.SubscriptionFilters {
		name := aws.ToString(f.FilterName)
		// Stack-made filters are named <stack>-<logical id>-<suffix>.
		parts := strings.Split(name, "-")
		logicalID := ""
		if len(parts) >= 2 {
			logicalID = parts[len(parts)-2]
		}
		e := existing{wantedLogFilter: wantedLogFilter{destinationARN: aws.ToString(f.DestinationArn), logicalID: logicalID}, name: name}
		e.internal = ownsFilter(ctx, cf, stack, logicalID, name)
		if !e.internal {
			external++
		}
		current = append(current, e)
	}
	if external+len(wanted) > logFiltersPerGroup {
		return &LogFilterLimitError{LogGroup: group}
	}
	for _, e := range current {
		if !e.internal {
			continue
		}
		matched := false
		for _, w := range wanted {
			matched = matched || w == e.wantedLogFilter
		}
		if matched {
			continue
		}
		if _, err := api.DeleteSubscriptionFilter(ctx, &cloudwatchlogs.DeleteSubscriptionFilterInput{
			LogGroupName: aws.String(group), FilterName: aws.String(e.name),
		}); err != nil {
			return fmt.Errorf("remove the stack's old subscription filter %s from log group %s: %w", e.name, group, CredentialsError(err))
		}
	}
	return nil
}

// ownsFilter reports whether the stack's resource logicalID is the filter
// (v3's isInternalSubscriptionFilter; any lookup error means no).
func ownsFilter(ctx context.Context, cf CloudFormation, stack, logicalID, filterName string) bool {
	if logicalID == "" {
		return false
	}
	resp, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{
		StackName: aws.String(stack), LogicalResourceId: aws.String(logicalID),
	})
	if err != nil {
		return false
	}
	for _, r := range resp.StackResources {
		if aws.ToString(r.LogicalResourceId) == logicalID && aws.ToString(r.PhysicalResourceId) == filterName {
			return true
		}
	}
	return false
}
