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
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cloudfronttypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

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
	c := motoClients(t, ctx)
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
	if want := []string{"css/site.css", "data.bin", "index.html"}; !reflect.DeepEqual(res.Uploaded, want) || len(res.Deleted) != 0 || !reflect.DeepEqual(res.Tagged, []string{"old.html"}) {
		t.Fatalf("first sync = %+v, want uploads %v and old.html tagged obsolete, not deleted", res, want)
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
	if changed, err := deployaws.PutWebsiteFile(ctx, c.S3, bucket, "static/favicon.ico", filepath.Join(dir, "favicon.ico"), false); err != nil || !changed {
		t.Fatalf("first put: %v %v", changed, err)
	}
	if changed, err := deployaws.PutWebsiteFile(ctx, c.S3, bucket, "static/favicon.ico", filepath.Join(dir, "favicon.ico"), false); err != nil || changed {
		t.Fatalf("unchanged put: %v %v", changed, err)
	}
}

// TestVersionedWebsiteTagsObsoleteFilesOnMoto follows lift's
// versionedAssets: a file gone from the directory is kept but tagged
// Obsolete=true (its other tags, content type and body kept), tagging
// it again changes nothing, and when the file comes back unchanged its
// tag is removed, which counts as a change (the cache is cleared).
func TestVersionedWebsiteTagsObsoleteFilesOnMoto(t *testing.T) {
	useDedicatedMoto(t, "uploads to moto")
	ctx := context.Background()
	c := motoClients(t, ctx)
	s3c := c.S3.(*s3.Client)
	const bucket = "versioned-site"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "app v1.js")
	if err := os.WriteFile(file, []byte("v1()"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err := deployaws.SyncWebsiteDirectory(ctx, c.S3, bucket, "assets", dir, true); err != nil || !reflect.DeepEqual(res.Uploaded, []string{"assets/app v1.js"}) {
		t.Fatalf("first sync = %+v, %v", res, err)
	}
	key := aws.String("assets/app v1.js")
	if _, err := s3c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: key,
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}}); err != nil {
		t.Fatal(err)
	}
	tags := func() map[string]string {
		t.Helper()
		out, err := s3c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: key})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tag := range out.TagSet {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		return m
	}

	if err := os.Rename(file, filepath.Join(t.TempDir(), "moved.js")); err != nil {
		t.Fatal(err)
	}
	res, err := deployaws.SyncWebsiteDirectory(ctx, c.S3, bucket, "assets", dir, true)
	if err != nil || !reflect.DeepEqual(res.Tagged, []string{"assets/app v1.js"}) || len(res.Deleted) != 0 || !res.Changed() {
		t.Fatalf("sync without the file = %+v, %v", res, err)
	}
	if got := tags(); !reflect.DeepEqual(got, map[string]string{"team": "web", "Obsolete": "true"}) {
		t.Errorf("tags after tagging = %v", got)
	}
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != "text/javascript" || head.Metadata["lift-obsolete-at"] == "" {
		t.Errorf("tagged copy: content type %q, metadata %v", aws.ToString(head.ContentType), head.Metadata)
	}
	if res, err := deployaws.SyncWebsiteDirectory(ctx, c.S3, bucket, "assets", dir, true); err != nil || res.Changed() {
		t.Fatalf("tagging again = %+v, %v", res, err)
	}

	if err := os.WriteFile(file, []byte("v1()"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = deployaws.SyncWebsiteDirectory(ctx, c.S3, bucket, "assets", dir, true)
	if err != nil || !reflect.DeepEqual(res.Restored, []string{"assets/app v1.js"}) || len(res.Uploaded) != 0 || !res.Changed() {
		t.Fatalf("sync with the file back = %+v, %v", res, err)
	}
	if got := tags(); !reflect.DeepEqual(got, map[string]string{"team": "web"}) {
		t.Errorf("tags after restoring = %v", got)
	}
}

// TestUploadWebsitesOnMoto runs the post-deploy upload over the websites
// lift.Websites finds in a config: a static website's directory and a
// server-side website's directory and single-file assets, each into the
// bucket its stack output names. Each website whose files changed gets
// one "/*" invalidation of its own distribution, as lift does; an
// unchanged upload invalidates nothing. A missing asset or bucket output
// is an error naming the construct.
func TestUploadWebsitesOnMoto(t *testing.T) {
	useDedicatedMoto(t, "uploads to moto")
	ctx := context.Background()
	c := motoClients(t, ctx)
	s3c := c.S3.(*s3.Client)
	cfc := c.CloudFront.(*cloudfront.Client)
	for _, b := range []string{"static-bucket", "assets-bucket"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	distribution := func(bucket string) string {
		t.Helper()
		origin := bucket + ".s3.amazonaws.com"
		out, err := cfc.CreateDistribution(ctx, &cloudfront.CreateDistributionInput{DistributionConfig: &cloudfronttypes.DistributionConfig{
			CallerReference: aws.String(bucket), Comment: aws.String(bucket), Enabled: aws.Bool(true),
			Origins: &cloudfronttypes.Origins{Quantity: aws.Int32(1), Items: []cloudfronttypes.Origin{{
				Id: aws.String(bucket), DomainName: aws.String(origin),
				S3OriginConfig: &cloudfronttypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
			}}},
			DefaultCacheBehavior: &cloudfronttypes.DefaultCacheBehavior{
				TargetOriginId: aws.String(bucket), ViewerProtocolPolicy: cloudfronttypes.ViewerProtocolPolicyRedirectToHttps,
				CachePolicyId: aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6"),
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Distribution.Id)
	}
	invalidations := func(id string) []string {
		t.Helper()
		out, err := cfc.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, summary := range out.InvalidationList.Items {
			inv, err := cfc.GetInvalidation(ctx, &cloudfront.GetInvalidationInput{DistributionId: aws.String(id), Id: summary.Id})
			if err != nil {
				t.Fatal(err)
			}
			paths = append(paths, strings.Join(inv.Invalidation.InvalidationBatch.Paths.Items, ","))
		}
		return paths
	}
	landingCDN, backendCDN := distribution("static-bucket"), distribution("assets-bucket")

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
	for name, content := range map[string]string{"public/index.html": "home", "public/about/index.html": "about", "assets/app.css": "body{}", "static/error.html": "oops"} {
		write(name, content)
	}
	cfg := "service: s\nplugins: [serverless-lift]\nconstructs:\n  landing: {type: static-website, path: public}\n  backend:\n    type: server-side-website\n    errorPage: static/error.html\n    assets: {'/css/*': assets}\n"
	sites := websitesOf(t, cfg)
	outputs := map[string]string{
		lift.LogicalID("landing", "BucketName"):       "static-bucket",
		lift.LogicalID("landing", "DistributionId"):   landingCDN,
		lift.LogicalID("backend", "AssetsBucketName"): "assets-bucket",
		lift.LogicalID("backend", "DistributionId"):   backendCDN,
	}
	rec := &stepRecorder{}
	if err := deployaws.UploadWebsitesAfterDeploy(ctx, c, dir, sites, outputs, nil, rec); err != nil {
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
	for name, id := range map[string]string{"landing": landingCDN, "backend": backendCDN} {
		if got := invalidations(id); !reflect.DeepEqual(got, []string{"/*"}) {
			t.Errorf("%s distribution invalidations after the first upload = %v, want one of /*", name, got)
		}
	}
	if steps := strings.Join(rec.steps, "\n"); strings.Count(steps, "Clearing CloudFront DNS cache") != 2 || strings.Contains(steps, "create-invalidation") {
		t.Errorf("steps:\n%s", steps)
	}

	rec.steps = nil
	if err := deployaws.UploadWebsitesAfterDeploy(ctx, c, dir, sites, outputs, nil, rec); err != nil {
		t.Fatal(err)
	}
	if got := invalidations(landingCDN); len(got) != 1 {
		t.Errorf("unchanged files invalidated the landing distribution again: %v", got)
	}
	if steps := strings.Join(rec.steps, "\n"); strings.Contains(steps, "Clearing CloudFront") {
		t.Errorf("unchanged upload clears the cache:\n%s", steps)
	}

	// Only the server-side website's asset changed: only its cache is cleared.
	write("assets/app.css", "body{color:red}")
	if err := deployaws.UploadWebsitesAfterDeploy(ctx, c, dir, sites, outputs, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := len(invalidations(landingCDN)), 1; got != want {
		t.Errorf("landing invalidations = %d, want %d", got, want)
	}
	if got, want := len(invalidations(backendCDN)), 2; got != want {
		t.Errorf("backend invalidations = %d, want %d", got, want)
	}

	if err := os.Remove(filepath.Join(dir, "static", "error.html")); err != nil {
		t.Fatal(err)
	}
	err := deployaws.UploadWebsitesAfterDeploy(ctx, c, dir, sites, outputs, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "constructs.backend") || !strings.Contains(err.Error(), "static/error.html") {
		t.Errorf("missing asset: %v", err)
	}
	delete(outputs, lift.LogicalID("landing", "BucketName"))
	if err := deployaws.UploadWebsitesAfterDeploy(ctx, c, dir, sites, outputs, nil, nil); err == nil || !strings.Contains(err.Error(), "'landing'") {
		t.Errorf("missing bucket output: %v", err)
	}
}

// TestVersionedAssetsUploadBeforeDeployOnMoto follows lift's preDeploy
// for a server-side website with versionedAssets: against the deployed
// stack's bucket output, only files not in the bucket yet are put (an
// outdated object is left for after the deploy, nothing is deleted),
// and the website's cache is then cleared after the deploy even when
// the after-deploy sync finds nothing left to change. Before the first
// deploy (no stack) it does nothing.
func TestVersionedAssetsUploadBeforeDeployOnMoto(t *testing.T) {
	useDedicatedMoto(t, "uploads to moto")
	ctx := context.Background()
	c := motoClients(t, ctx)
	s3c := c.S3.(*s3.Client)
	cfc := c.CloudFront.(*cloudfront.Client)
	cfg := "service: s\nplugins: [serverless-lift]\nconstructs:\n  backend:\n    type: server-side-website\n    versionedAssets: true\n    assets: {'/css/*': assets}\n"
	sites := websitesOf(t, cfg)
	dir := t.TempDir()
	for name, content := range map[string]string{"assets/app.css": "new{}", "assets/extra.css": "extra{}"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if got, err := deployaws.UploadAssetsBeforeDeploy(ctx, c, "s-dev", dir, sites, nil); err != nil || len(got) != 0 {
		t.Fatalf("before the first deploy: %v, %v", got, err)
	}

	bucketOutput := lift.LogicalID("backend", "AssetsBucketName")
	template := `{"Resources":{"Assets":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":"assets-bucket"}}},` +
		`"Outputs":{"` + bucketOutput + `":{"Value":{"Ref":"Assets"}}}}`
	if _, err := c.CloudFormation.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("s-dev"), TemplateBody: aws.String(template)}); err != nil {
		t.Fatal(err)
	}
	for key, body := range map[string]string{"css/app.css": "old{}", "css/gone.css": "gone{}"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("assets-bucket"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	uploaded, err := deployaws.UploadAssetsBeforeDeploy(ctx, c, "s-dev", dir, sites, nil)
	if err != nil || !uploaded["backend"] {
		t.Fatalf("before deploy: %v, %v", uploaded, err)
	}
	body := func(key string) string {
		t.Helper()
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("assets-bucket"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Body)
		return string(b)
	}
	if got := []string{body("css/app.css"), body("css/extra.css"), body("css/gone.css")}; !reflect.DeepEqual(got, []string{"old{}", "extra{}", "gone{}"}) {
		t.Errorf("bucket after the pre-deploy upload = %v", got)
	}

	out, err := cfc.CreateDistribution(ctx, &cloudfront.CreateDistributionInput{DistributionConfig: &cloudfronttypes.DistributionConfig{
		CallerReference: aws.String("assets"), Comment: aws.String("assets"), Enabled: aws.Bool(true),
		Origins: &cloudfronttypes.Origins{Quantity: aws.Int32(1), Items: []cloudfronttypes.Origin{{
			Id: aws.String("assets"), DomainName: aws.String("assets-bucket.s3.amazonaws.com"),
			S3OriginConfig: &cloudfronttypes.S3OriginConfig{OriginAccessIdentity: aws.String("")},
		}}},
		DefaultCacheBehavior: &cloudfronttypes.DefaultCacheBehavior{TargetOriginId: aws.String("assets"),
			ViewerProtocolPolicy: cloudfronttypes.ViewerProtocolPolicyAllowAll, CachePolicyId: aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	distribution := aws.ToString(out.Distribution.Id)
	outputs := map[string]string{bucketOutput: "assets-bucket", lift.LogicalID("backend", "DistributionId"): distribution}
	invalidations := func() int {
		t.Helper()
		list, err := cfc.ListInvalidations(ctx, &cloudfront.ListInvalidationsInput{DistributionId: aws.String(distribution)})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.InvalidationList.Items)
	}
	// The after-deploy sync updates app.css and tags gone.css: a change.
	if err := deployaws.UploadWebsitesAfterDeploy(ctx, c, dir, sites, outputs, nil, nil); err != nil {
		t.Fatal(err)
	}
	if body("css/app.css") != "new{}" || invalidations() != 1 {
		t.Fatalf("after deploy: app.css %q, %d invalidations", body("css/app.css"), invalidations())
	}
	// Nothing changes after the deploy, but the pre-deploy upload did.
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("assets-bucket"), Key: aws.String("css/extra.css")}); err != nil {
		t.Fatal(err)
	}
	if uploaded, err = deployaws.UploadAssetsBeforeDeploy(ctx, c, "s-dev", dir, sites, nil); err != nil || !uploaded["backend"] {
		t.Fatalf("second pre-deploy upload: %v, %v", uploaded, err)
	}
	if err := deployaws.UploadWebsitesAfterDeploy(ctx, c, dir, sites, outputs, uploaded, nil); err != nil {
		t.Fatal(err)
	}
	if got := invalidations(); got != 2 {
		t.Errorf("%d invalidations, want the pre-deploy upload to force a second", got)
	}
	if err := deployaws.UploadWebsitesAfterDeploy(ctx, c, dir, sites, outputs, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := invalidations(); got != 2 {
		t.Errorf("%d invalidations after an unchanged upload, want still 2", got)
	}
}

// TestEmptyWebsiteBucketsOnMoto follows lift's before:remove hook: the
// bucket the deployed stack names for a website is emptied (so
// CloudFormation can delete it), with lift's message; a website the
// stack has no bucket output for, or a stack that is gone, is skipped.
func TestEmptyWebsiteBucketsOnMoto(t *testing.T) {
	useDedicatedMoto(t, "removes from moto")
	ctx := context.Background()
	c := motoClients(t, ctx)
	s3c := c.S3.(*s3.Client)
	cfg := "service: s\nplugins: [serverless-lift]\nconstructs:\n  landing: {type: static-website, path: public}\n  backend: {type: server-side-website}\n"
	sites := websitesOf(t, cfg)
	if err := deployaws.EmptyWebsiteBuckets(ctx, c, "s-dev", sites, nil); err != nil {
		t.Fatalf("without a stack: %v", err)
	}
	template := `{"Resources":{"Site":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":"landing-bucket"}}},` +
		`"Outputs":{"` + lift.LogicalID("landing", "BucketName") + `":{"Value":{"Ref":"Site"}}}}`
	if _, err := c.CloudFormation.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("s-dev"), TemplateBody: aws.String(template)}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"index.html", "a/b.css", "c.js"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("landing-bucket"), Key: aws.String(key), Body: strings.NewReader(key)}); err != nil {
			t.Fatal(err)
		}
	}
	rec := &stepRecorder{}
	if err := deployaws.EmptyWebsiteBuckets(ctx, c, "s-dev", sites, rec); err != nil {
		t.Fatal(err)
	}
	out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("landing-bucket")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		t.Errorf("bucket still holds %d objects", len(out.Contents))
	}
	want := []string{"Emptying S3 bucket 'landing-bucket' for the 'landing' static website, else CloudFormation will fail (it cannot delete a non-empty bucket)"}
	if !reflect.DeepEqual(rec.steps, want) {
		t.Errorf("steps = %q", rec.steps)
	}
}

// motoClients connects to the moto_server useDedicatedMoto started.
func motoClients(t *testing.T, ctx context.Context) *deployaws.Clients {
	t.Helper()
	c, err := deployaws.NewClients(ctx, "us-east-1", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// websitesOf lists the lift websites of a serverless.yml text.
func websitesOf(t *testing.T, yml string) []lift.Website {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return lift.Websites(root)
}
