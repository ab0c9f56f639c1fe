package aws

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// Reporter receives progress. The SDK never prints; the CLI renders these
// (one line per stack event with elapsed time, a spinner on terminals).
type Reporter interface {
	// Step announces a phase ("Uploading artifacts").
	Step(msg string)
	// StackEvent is one new CloudFormation event while waiting.
	StackEvent(e StackEvent)
}

// StackEvent is a CloudFormation stack event, flattened for rendering.
type StackEvent struct {
	Time       time.Time
	Elapsed    time.Duration
	LogicalID  string
	Type       string
	Status     string
	Reason     string
	PhysicalID string
}

// Failed reports whether the event is a resource failure.
func (e StackEvent) Failed() bool { return strings.HasSuffix(e.Status, "_FAILED") }

// NopReporter discards progress.
type NopReporter struct{}

func (NopReporter) Step(string)           {}
func (NopReporter) StackEvent(StackEvent) {}

// Poll intervals; tests shorten them.
var (
	pollInterval    = 2 * time.Second
	minPollInterval = 200 * time.Millisecond
)

// Waiting has no deadline, as in v3 (monitor-stack.js polls until the stack
// settles): a CloudFront or RDS update can take an hour. Two things bound the
// silence instead:
var (
	// quietNotice is how long a wait goes without a new stack event before
	// the user is told it is still waiting, and again after each such spell.
	quietNotice = 5 * time.Minute
	// reviewGrace is how long a stack may stay in REVIEW_IN_PROGRESS after
	// its change set was executed. Only executing a change set moves a stack
	// out of that state, so one that stays there will never settle.
	reviewGrace = time.Minute
)

// monitoringInterval is v3's SLS_AWS_MONITORING_FREQUENCY (milliseconds
// between polls) when set, for users who slow polling to spare their API
// rate limits; otherwise 0 (Nimbus's backoff up to pollInterval).
func monitoringInterval() time.Duration {
	ms, err := strconv.Atoi(strings.TrimSpace(os.Getenv("SLS_AWS_MONITORING_FREQUENCY")))
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// StackFailure is a stack operation that ended in a failed or rolled-back
// state; Failures are the resource events that caused it.
type StackFailure struct {
	Stack    string
	Status   string
	Reason   string
	Failures []StackEvent
}

func (e *StackFailure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stack %s ended in %s", e.Stack, e.Status)
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\n  %s (%s): %s", f.LogicalID, f.Type, f.Reason)
	}
	return b.String()
}

// terminal reports whether a stack status ends an operation, and whether
// it is a success.
func terminal(status string) (done, ok bool) {
	switch {
	case strings.HasSuffix(status, "_IN_PROGRESS"):
		return false, false
	case status == "CREATE_COMPLETE", status == "UPDATE_COMPLETE", status == "DELETE_COMPLETE", status == "IMPORT_COMPLETE":
		return true, true
	}
	// *_FAILED, ROLLBACK_COMPLETE, UPDATE_ROLLBACK_COMPLETE, …
	return true, false
}

// seenEvents records the IDs of a stack's current events, so waiting after
// the next operation reports only what that operation caused (event
// timestamps alone are too coarse: several operations share a second).
func seenEvents(ctx context.Context, cf CloudFormation, stack string) map[string]bool {
	seen := map[string]bool{}
	newEvents(ctx, cf, stack, time.Time{}, seen)
	return seen
}

// waitForStack polls the stack until its status is terminal, reporting
// every stack event after since that is not in seen (nil: none seen). It
// returns the final stack.
func waitForStack(ctx context.Context, cf CloudFormation, stack string, since time.Time, seen map[string]bool, rep Reporter) (*cftypes.Stack, error) {
	if seen == nil {
		seen = map[string]bool{}
	}
	var failures []StackEvent
	interval := minPollInterval
	fixed := monitoringInterval()
	if fixed > 0 {
		interval = fixed
	}
	lastNews := time.Now()
	var reviewSince time.Time
	for {
		st, err := describeStack(ctx, cf, stack)
		if err != nil {
			if isStackMissing(err) {
				// A deleted stack disappears from DescribeStacks by name.
				return &cftypes.Stack{StackName: aws.String(stack), StackStatus: cftypes.StackStatusDeleteComplete}, nil
			}
			return nil, err
		}
		events := newEvents(ctx, cf, stack, since, seen)
		if len(events) > 0 {
			lastNews = time.Now()
		}
		for _, e := range events {
			if e.Failed() && e.Reason != "" && !strings.Contains(e.Reason, "Resource creation cancelled") &&
				!strings.Contains(e.Reason, "Resource update cancelled") {
				failures = append(failures, e)
			}
			rep.StackEvent(e)
		}
		status := string(st.StackStatus)
		if done, ok := terminal(status); done {
			if !ok {
				return st, &StackFailure{Stack: stack, Status: status, Reason: str(st.StackStatusReason), Failures: failures}
			}
			return st, nil
		}
		if status == string(cftypes.StackStatusReviewInProgress) {
			if reviewSince.IsZero() {
				reviewSince = time.Now()
			} else if time.Since(reviewSince) > reviewGrace {
				return st, &InactiveStackError{Stack: stack, Status: status, Waited: time.Since(reviewSince)}
			}
		} else {
			reviewSince = time.Time{}
		}
		if quiet := time.Since(lastNews); quiet > quietNotice {
			rep.Step(fmt.Sprintf("Still waiting for stack %s (%s): no new stack event for %s. "+
				"CloudFormation has no time limit here; Ctrl-C stops waiting, not the operation", stack, status, quiet.Round(time.Second)))
			lastNews = time.Now()
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(interval):
		}
		if fixed == 0 && interval < pollInterval {
			interval *= 2
			if interval > pollInterval {
				interval = pollInterval
			}
		}
	}
}

// newEvents returns the stack's events after since that were not seen
// before, oldest first.
func newEvents(ctx context.Context, cf CloudFormation, stack string, since time.Time, seen map[string]bool) []StackEvent {
	var out []StackEvent
	var token *string
	for page := 0; page < 10; page++ {
		resp, err := cf.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stack), NextToken: token})
		if err != nil {
			return out
		}
		older := false
		for _, e := range resp.StackEvents {
			ts := aws.ToTime(e.Timestamp)
			if !since.IsZero() && ts.Before(since) {
				older = true
				continue
			}
			id := str(e.EventId)
			if seen[id] {
				older = true
				continue
			}
			seen[id] = true
			out = append(out, StackEvent{
				Time: ts, Elapsed: elapsedSince(ts, since), LogicalID: str(e.LogicalResourceId), Type: str(e.ResourceType),
				Status: string(e.ResourceStatus), Reason: str(e.ResourceStatusReason), PhysicalID: str(e.PhysicalResourceId),
			})
		}
		if older || resp.NextToken == nil {
			break
		}
		token = resp.NextToken
	}
	// Events come newest first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// describeStack returns the stack by name.
func describeStack(ctx context.Context, cf CloudFormation, stack string) (*cftypes.Stack, error) {
	resp, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, CredentialsError(err)
	}
	if len(resp.Stacks) == 0 {
		return nil, fmt.Errorf("stack with id %s does not exist", stack)
	}
	return &resp.Stacks[0], nil
}

// StackOutputs returns a stack's outputs as a map.
func StackOutputs(st *cftypes.Stack) map[string]string {
	out := map[string]string{}
	for _, o := range st.Outputs {
		out[str(o.OutputKey)] = str(o.OutputValue)
	}
	return out
}

func elapsedSince(t, since time.Time) time.Duration {
	if since.IsZero() || t.Before(since) {
		return 0
	}
	return t.Sub(since)
}
