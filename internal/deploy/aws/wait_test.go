package aws

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func setWaitLimits(t *testing.T, quiet, review time.Duration) {
	t.Helper()
	oldQuiet, oldReview := quietNotice, reviewGrace
	quietNotice, reviewGrace = quiet, review
	t.Cleanup(func() { quietNotice, reviewGrace = oldQuiet, oldReview })
}

func TestWaitGivesUpOnAStackThatStaysInReview(t *testing.T) {
	setWaitLimits(t, time.Hour, 0)
	// The executed change set belongs to another stack of the same name
	// (moto does this when a CREATE change set is made twice): the one
	// DescribeStacks returns never leaves REVIEW_IN_PROGRESS.
	cf := existingStack("REVIEW_IN_PROGRESS")
	done := make(chan error, 1)
	go func() {
		_, err := waitForStack(context.Background(), cf, "svc-dev", time.Now(), nil, NopReporter{})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waitForStack is still waiting on a stack in REVIEW_IN_PROGRESS")
	}
	var inactive *InactiveStackError
	if !errors.As(err, &inactive) || inactive.Waited <= 0 {
		t.Fatalf("err = %v, want an InactiveStackError after waiting", err)
	}
	for _, want := range []string{"svc-dev", "'REVIEW_IN_PROGRESS'", "after its change set was executed", "nimbus remove"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

func TestWaitLeavesReviewWithinTheGraceAlone(t *testing.T) {
	setWaitLimits(t, time.Hour, time.Hour)
	// Right after ExecuteChangeSet, DescribeStacks may still say
	// REVIEW_IN_PROGRESS for a moment.
	cf := existingStack("REVIEW_IN_PROGRESS")
	cf.running = []step{{status: "REVIEW_IN_PROGRESS"}, {status: "CREATE_IN_PROGRESS"}, {status: "CREATE_COMPLETE"}}
	st, err := waitForStack(context.Background(), cf, "svc-dev", time.Now(), nil, NopReporter{})
	if err != nil || string(st.StackStatus) != "CREATE_COMPLETE" {
		t.Fatalf("st = %v, err = %v", st, err)
	}
}

func TestWaitTellsTheUserWhenTheStackGoesQuiet(t *testing.T) {
	setWaitLimits(t, 0, time.Hour)
	cf := existingStack("UPDATE_COMPLETE")
	cf.running = []step{
		{status: "UPDATE_IN_PROGRESS", events: []fakeEvent{{"svc-dev", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated"}}},
		{status: "UPDATE_IN_PROGRESS"},
		{status: "UPDATE_IN_PROGRESS"},
		{status: "UPDATE_COMPLETE"},
	}
	rep := &recordingReporter{}
	st, err := waitForStack(context.Background(), cf, "svc-dev", time.Time{}, nil, rep)
	if err != nil || string(st.StackStatus) != "UPDATE_COMPLETE" {
		t.Fatalf("a quiet stack must still be waited for, as v3 does: st = %v, err = %v", st, err)
	}
	var notices int
	for _, s := range rep.steps {
		if strings.HasPrefix(s, "Still waiting for stack svc-dev (UPDATE_IN_PROGRESS)") && strings.Contains(s, "Ctrl-C") {
			notices++
		}
	}
	if notices == 0 {
		t.Errorf("steps = %q, want a still-waiting notice", rep.steps)
	}
}

func TestMonitoringFrequencyFollowsServerlessV3Variable(t *testing.T) {
	for value, want := range map[string]time.Duration{
		"":      0,
		"250":   250 * time.Millisecond,
		" 5000": 5 * time.Second,
		"fast":  0,
		"-1":    0,
	} {
		t.Setenv("SLS_AWS_MONITORING_FREQUENCY", value)
		if got := monitoringInterval(); got != want {
			t.Errorf("SLS_AWS_MONITORING_FREQUENCY=%q: interval %v, want %v", value, got, want)
		}
	}
}

func TestUploadConcurrencyFollowsServerlessV3Variable(t *testing.T) {
	for _, tc := range []struct {
		given int
		env   string
		want  int
	}{
		{0, "", 0},
		{0, "2", 2},
		{4, "2", 4},
		{0, "many", 0},
		{0, "0", 0},
	} {
		t.Setenv("SLS_MAX_CONCURRENT_ARTIFACTS_UPLOADS", tc.env)
		if got := uploadConcurrency(tc.given); got != tc.want {
			t.Errorf("given %d, SLS_MAX_CONCURRENT_ARTIFACTS_UPLOADS=%q: %d, want %d", tc.given, tc.env, got, tc.want)
		}
	}
}

func TestWaitingForABusyStackTellsWhenItGoesQuietButHidesItsEvents(t *testing.T) {
	setWaitLimits(t, 0, time.Hour)
	cf := existingStack("UPDATE_IN_PROGRESS")
	cf.running = []step{
		{status: "UPDATE_IN_PROGRESS", events: []fakeEvent{{"Other", "AWS::SNS::Topic", "UPDATE_IN_PROGRESS", ""}}},
		{status: "UPDATE_IN_PROGRESS"},
		{status: "UPDATE_COMPLETE"},
	}
	rep := &recordingReporter{}
	if _, err := readyStack(context.Background(), cf, "svc-dev", rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.events) != 0 {
		t.Errorf("events of another run reported: %+v", rep.events)
	}
	var notice bool
	for _, s := range rep.steps {
		notice = notice || strings.HasPrefix(s, "Still waiting for stack svc-dev")
	}
	if !notice {
		t.Errorf("steps = %q, want the still-waiting notice", rep.steps)
	}
}
