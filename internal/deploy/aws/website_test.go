package aws

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"

	"github.com/nimbusfw/nimbus/internal/lift"
)

// fakeCloudFront records invalidation requests and fails them with err.
type fakeCloudFront struct {
	requests []*cloudfront.CreateInvalidationInput
	err      error
}

func (f *fakeCloudFront) CreateInvalidation(_ context.Context, in *cloudfront.CreateInvalidationInput, _ ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error) {
	f.requests = append(f.requests, in)
	if f.err != nil {
		return nil, f.err
	}
	return &cloudfront.CreateInvalidationOutput{}, nil
}

func staticSite(t *testing.T) (string, []lift.Website) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "public", "index.html"), []byte("home"), 0o644); err != nil {
		t.Fatal(err)
	}
	site := lift.Website{ID: "landing", Type: lift.StaticWebsiteType, BucketOutput: "Bucket", DistributionOutput: "Distribution",
		Uploads: []lift.Upload{{Local: "public"}}}
	return dir, []lift.Website{site}
}

// TestUploadWebsitesInvalidatesEverything checks the request lift sends
// after a changed upload: the distribution the stack output names, the
// single path "/*", and a caller reference.
func TestUploadWebsitesInvalidatesEverything(t *testing.T) {
	dir, sites := staticSite(t)
	cf := &fakeCloudFront{}
	c := &Clients{S3: newFakeS3("site-bucket"), CloudFront: cf}
	if err := UploadWebsitesAfterDeploy(context.Background(), c, dir, sites, map[string]string{"Bucket": "site-bucket", "Distribution": "E2ABC"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(cf.requests) != 1 {
		t.Fatalf("%d invalidations, want 1", len(cf.requests))
	}
	in := cf.requests[0]
	batch := in.InvalidationBatch
	if aws.ToString(in.DistributionId) != "E2ABC" || aws.ToInt32(batch.Paths.Quantity) != 1 || !reflect.DeepEqual(batch.Paths.Items, []string{"/*"}) || aws.ToString(batch.CallerReference) == "" {
		t.Errorf("invalidation = %+v %+v", in, batch.Paths)
	}
}

// TestUploadWebsitesWithoutDistributionOutput follows lift: with no
// distribution ID among the outputs the files are still uploaded and no
// invalidation is attempted.
func TestUploadWebsitesWithoutDistributionOutput(t *testing.T) {
	dir, sites := staticSite(t)
	cf := &fakeCloudFront{}
	s3c := newFakeS3("site-bucket")
	c := &Clients{S3: s3c, CloudFront: cf}
	if err := UploadWebsitesAfterDeploy(context.Background(), c, dir, sites, map[string]string{"Bucket": "site-bucket"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(cf.requests) != 0 || !reflect.DeepEqual(s3c.keys("site-bucket", ""), []string{"index.html"}) {
		t.Errorf("invalidations %d, bucket %v", len(cf.requests), s3c.keys("site-bucket", ""))
	}
}

// TestUploadWebsitesReportsInvalidationFailure: a refused invalidation
// (e.g. a missing cloudfront:CreateInvalidation permission) fails the
// deploy with the distribution named.
func TestUploadWebsitesReportsInvalidationFailure(t *testing.T) {
	dir, sites := staticSite(t)
	c := &Clients{S3: newFakeS3("site-bucket"), CloudFront: &fakeCloudFront{err: errors.New("AccessDenied")}}
	err := UploadWebsitesAfterDeploy(context.Background(), c, dir, sites, map[string]string{"Bucket": "site-bucket", "Distribution": "E2ABC"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "E2ABC") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v", err)
	}
}
