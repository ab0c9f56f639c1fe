package aws_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nimbusfw/nimbus/internal/config"
	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/lift"
)

// TestSyncWebsiteDirectoryOnMoto uploads a website directory the way
// lift does after a deploy: everything the first time, with content
// types; nothing when nothing changed; then only the changed file, and
// objects whose file is gone are deleted (kept with keepObsolete).
func TestSyncWebsiteDirectoryOnMoto(t *testing.T) {
	useDedicatedMoto(t, "uploads to moto")
	ctx := context.Background()
	c, err := deployaws.NewClients(ctx, "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	s3c := c.S3.(*s3.Client)
	const bucket = "site-bucket"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("old.html"), Body: strings.NewReader("old")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<h1>hi</h1>")
	write("css/site.css", "h1{}")
	write("data.bin", "\x00\x01")

	res, err := deployaws.SyncWebsiteDirectory(ctx, c.S3, bucket, "", dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"css/site.css", "data.bin", "index.html"}; !reflect.DeepEqual(res.Uploaded, want) || len(res.Deleted) != 0 {
		t.Fatalf("first sync = %+v, want uploads %v and old.html kept", res, want)
	}
	for key, want := range map[string]string{"index.html": "text/html", "css/site.css": "text/css", "data.bin": "application/octet-stream"} {
		head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(head.ContentType); got != want {
			t.Errorf("%s content type = %s, want %s", key, got, want)
		}
	}
	if res, err := deployaws.SyncWebsiteDirectory(ctx, c.S3, bucket, "", dir, true); err != nil || res.Changed() {
		t.Fatalf("unchanged sync = %+v, %v", res, err)
	}

	write("index.html", "<h1>changed</h1>")
	res, err = deployaws.SyncWebsiteDirectory(ctx, c.S3, bucket, "", dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Uploaded, []string{"index.html"}) || !reflect.DeepEqual(res.Deleted, []string{"old.html"}) {
		t.Fatalf("second sync = %+v", res)
	}
	out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	sort.Strings(keys)
	if want := []string{"css/site.css", "data.bin", "index.html"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("bucket holds %v, want %v", keys, want)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("index.html")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	if string(body) != "<h1>changed</h1>" {
		t.Errorf("index.html = %q", body)
	}

	// A single file under a prefix, as a server-side website's asset.
	write("favicon.ico", "icon")
	if changed, err := deployaws.PutWebsiteFile(ctx, c.S3, bucket, "static/favicon.ico", filepath.Join(dir, "favicon.ico")); err != nil || !changed {
		t.Fatalf("first put: %v %v", changed, err)
	}
	if changed, err := deployaws.PutWebsiteFile(ctx, c.S3, bucket, "static/favicon.ico", filepath.Join(dir, "favicon.ico")); err != nil || changed {
		t.Fatalf("unchanged put: %v %v", changed, err)
	}
}

// TestUploadWebsitesOnMoto runs the post-deploy upload over the websites
// lift.Websites finds in a config: a static website's directory and a
// server-side website's directory and single-file assets, each into the
// bucket its stack output names; changed files ask for an invalidation;
// a missing asset or bucket output is an error naming the construct.
func TestUploadWebsitesOnMoto(t *testing.T) {
	useDedicatedMoto(t, "uploads to moto")
	ctx := context.Background()
	c, err := deployaws.NewClients(ctx, "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	s3c := c.S3.(*s3.Client)
	for _, b := range []string{"static-bucket", "assets-bucket"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	for name, content := range map[string]string{"public/index.html": "home", "public/about/index.html": "about", "assets/app.css": "body{}", "static/error.html": "oops"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "service: s\nplugins: [serverless-lift]\nconstructs:\n  landing: {type: static-website, path: public}\n  backend:\n    type: server-side-website\n    errorPage: static/error.html\n    assets: {'/css/*': assets}\n"
	root, ds := config.Parse("serverless.yml", []byte(cfg), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	sites := lift.Websites(root)
	outputs := map[string]string{
		lift.LogicalID("landing", "BucketName"):       "static-bucket",
		lift.LogicalID("landing", "DistributionId"):   "E123",
		lift.LogicalID("backend", "AssetsBucketName"): "assets-bucket",
		lift.LogicalID("backend", "DistributionId"):   "E456",
	}
	rec := &stepRecorder{}
	if err := deployaws.UploadWebsites(ctx, c.S3, dir, sites, outputs, rec); err != nil {
		t.Fatal(err)
	}
	keys := func(bucket string) []string {
		out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, o := range out.Contents {
			ks = append(ks, aws.ToString(o.Key))
		}
		sort.Strings(ks)
		return ks
	}
	if got, want := keys("static-bucket"), []string{"about/index.html", "index.html"}; !reflect.DeepEqual(got, want) {
		t.Errorf("static bucket = %v, want %v", got, want)
	}
	if got, want := keys("assets-bucket"), []string{"css/app.css", "error.html"}; !reflect.DeepEqual(got, want) {
		t.Errorf("assets bucket = %v, want %v", got, want)
	}
	steps := strings.Join(rec.steps, "\n")
	if !strings.Contains(steps, "--distribution-id E123") || !strings.Contains(steps, "--distribution-id E456") {
		t.Errorf("no invalidation advice:\n%s", steps)
	}
	rec.steps = nil
	if err := deployaws.UploadWebsites(ctx, c.S3, dir, sites, outputs, rec); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(rec.steps, "\n"), "create-invalidation") {
		t.Errorf("unchanged files still ask for an invalidation:\n%s", strings.Join(rec.steps, "\n"))
	}

	if err := os.Remove(filepath.Join(dir, "static", "error.html")); err != nil {
		t.Fatal(err)
	}
	err = deployaws.UploadWebsites(ctx, c.S3, dir, sites, outputs, nil)
	if err == nil || !strings.Contains(err.Error(), "constructs.backend") || !strings.Contains(err.Error(), "static/error.html") {
		t.Errorf("missing asset: %v", err)
	}
	delete(outputs, lift.LogicalID("landing", "BucketName"))
	if err := deployaws.UploadWebsites(ctx, c.S3, dir, sites, outputs, nil); err == nil || !strings.Contains(err.Error(), "'landing'") {
		t.Errorf("missing bucket output: %v", err)
	}
}
