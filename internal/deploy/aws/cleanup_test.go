package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// The tests here follow v3's deploy/lib/cleanup-s3-bucket.js.

// sixOldDeployments fills the bucket with six earlier deployments.
func sixOldDeployments(s3 *fakeS3) []string {
	var dirs []string
	for i := 0; i < 6; i++ {
		dir := fmt.Sprintf("serverless/svc/dev/16000000%05d-2020-09-13T12:26:40.000Z", i)
		s3.objects[testBucket][dir+"/"+CompiledTemplateFile] = []byte("{}")
		s3.objects[testBucket][dir+"/svc.zip"] = []byte("old")
		dirs = append(dirs, dir)
	}
	return dirs
}

func deploymentDirs(t *testing.T, s3 *fakeS3, b *Bundle) []string {
	t.Helper()
	objs, err := listAll(context.Background(), s3, testBucket, b.ServicePrefix())
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, d := range groupDeployments(objs) {
		dirs = append(dirs, d.Dir)
	}
	return dirs
}

func TestEmptyChangeSetRemovesItsOwnUploadAndPrunesNothing(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.changeSetEmpty = true
	s3 := newFakeS3(testBucket)
	old := sixOldDeployments(s3)
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.NoStackUpdate || !res.EmptyChangeSet {
		t.Errorf("result = %+v, want an empty change set", res)
	}
	if got := deploymentDirs(t, s3, b); strings.Join(got, " ") != strings.Join(old, " ") {
		t.Errorf("deployments after an empty change set = %v, want the six earlier ones untouched and this upload gone", got)
	}
}

func TestDirectUpdateWithoutChangesKeepsItsUploadAndPrunes(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.changeSetEmpty = true // UpdateStack answers "No updates are to be performed."
	s3 := newFakeS3(testBucket)
	old := sixOldDeployments(s3)
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	b.Direct = true
	res, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// v3's direct update returns without marking an empty change set, so
	// the deploy finishes as any other: message, outputs and cleanup.
	if !res.NoStackUpdate || res.EmptyChangeSet {
		t.Errorf("result = %+v, want no stack update but no empty change set", res)
	}
	want := append(append([]string(nil), old[2:]...), b.ArtifactDirectoryName)
	if got := deploymentDirs(t, s3, b); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("deployments = %v, want the newest five %v", got, want)
	}
}

func TestZeroPreviousArtifactsRemovesEveryDeploymentAsV3Does(t *testing.T) {
	cf := existingStack("UPDATE_COMPLETE")
	cf.scripts = [][]step{updateOK}
	s3 := newFakeS3(testBucket)
	sixOldDeployments(s3)
	b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
	b.MaxPreviousArtifacts = KeepNoArtifacts
	if _, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, b, DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := deploymentDirs(t, s3, b); len(got) != 0 {
		t.Errorf("deployments kept = %v; v3 keeps none with maxPreviousDeploymentArtifacts: 0", got)
	}
}
