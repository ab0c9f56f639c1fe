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

	deployaws "github.com/nimbusfw/nimbus/internal/deploy/aws"
	"github.com/nimbusfw/nimbus/internal/testutil/motoserver"
)

// TestSyncWebsiteDirectoryOnMoto uploads a website directory the way
// lift does after a deploy: everything the first time, with content
// types; nothing when nothing changed; then only the changed file, and
// objects whose file is gone are deleted (kept with keepObsolete).
func TestSyncWebsiteDirectoryOnMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads to moto")
	}
	ep, stop := motoserver.StartDedicated(t)
	defer stop()
	for _, kv := range motoserver.EnvFor(ep) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
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
