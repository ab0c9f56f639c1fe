package aws

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cloudfronttypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/nimbusfw/nimbus/internal/lift"
)

// WebsiteSync says what uploading a website's files changed.
type WebsiteSync struct {
	Uploaded, Deleted []string
	// Tagged are obsolete objects marked for expiry and Restored are
	// files back in use whose mark was removed (lift's versionedAssets).
	Tagged, Restored []string
}

// Changed reports whether anything was uploaded, deleted, tagged
// obsolete or restored (lift then invalidates the CloudFront cache).
func (w WebsiteSync) Changed() bool {
	return len(w.Uploaded)+len(w.Deleted)+len(w.Tagged)+len(w.Restored) > 0
}

// objectTagger is asserted on Clients.S3 rather than added to S3 so the
// scripted fakes need not implement it: only versioned websites use it.
type objectTagger interface {
	GetObjectTagging(context.Context, *s3.GetObjectTaggingInput, ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
	PutObjectTagging(context.Context, *s3.PutObjectTaggingInput, ...func(*s3.Options)) (*s3.PutObjectTaggingOutput, error)
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
}

// obsoleteTag marks an object a versioned website no longer has; lift's
// bucket lifecycle rule expires tagged objects after a day, so pages
// cached with older asset names keep working meanwhile.
const obsoleteTag = "Obsolete"

// objectTags reads an object's tags, and gives the tagging client to
// change them with.
func objectTags(ctx context.Context, c S3, bucket, key string) (objectTagger, []s3types.Tag, error) {
	t, ok := c.(objectTagger)
	if !ok {
		return nil, nil, errors.New("this S3 client cannot tag objects, which versioned website assets need")
	}
	out, err := t.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, nil, fmt.Errorf("reading the tags of %s/%s: %w", bucket, key, err)
	}
	return t, out.TagSet, nil
}

func isObsolete(tags []s3types.Tag) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == obsoleteTag && aws.ToString(t.Value) == "true" {
			return true
		}
	}
	return false
}

func withoutObsolete(tags []s3types.Tag) []s3types.Tag {
	var out []s3types.Tag
	for _, t := range tags {
		if aws.ToString(t.Key) != obsoleteTag {
			out = append(out, t)
		}
	}
	return out
}

// restoreIfObsolete removes the obsolete mark from an object whose file
// is in use again; it reports whether there was one.
func restoreIfObsolete(ctx context.Context, c S3, bucket, key string) (bool, error) {
	t, tags, err := objectTags(ctx, c, bucket, key)
	if err != nil || !isObsolete(tags) {
		return false, err
	}
	if _, err := t.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Tagging: &s3types.Tagging{TagSet: withoutObsolete(tags)}}); err != nil {
		return false, fmt.Errorf("removing the obsolete tag of %s/%s: %w", bucket, key, err)
	}
	return true, nil
}

// tagObsolete marks an object obsolete unless it already is. Like lift,
// the object is copied onto itself with the tag so that its age, which
// the lifecycle rule counts from, restarts now.
func tagObsolete(ctx context.Context, c S3, bucket, key string, now time.Time) (bool, error) {
	t, tags, err := objectTags(ctx, c, bucket, key)
	if err != nil || isObsolete(tags) {
		return false, err
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return false, fmt.Errorf("reading %s/%s: %w", bucket, key, err)
	}
	var tagging []string
	for _, tag := range append(withoutObsolete(tags), s3types.Tag{Key: aws.String(obsoleteTag), Value: aws.String("true")}) {
		tagging = append(tagging, uriComponent(aws.ToString(tag.Key))+"="+uriComponent(aws.ToString(tag.Value)))
	}
	metadata := map[string]string{}
	for k, v := range head.Metadata {
		metadata[k] = v
	}
	metadata["lift-obsolete-at"] = now.UTC().Format("2006-01-02T15:04:05.000Z")
	source := bucket + "/" + strings.ReplaceAll(uriComponent(key), "%2F", "/")
	if _, err := t.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), CopySource: aws.String(source),
		MetadataDirective: s3types.MetadataDirectiveReplace, Metadata: metadata,
		TaggingDirective: s3types.TaggingDirectiveReplace, Tagging: aws.String(strings.Join(tagging, "&")),
		CacheControl: head.CacheControl, ContentDisposition: head.ContentDisposition,
		ContentEncoding: head.ContentEncoding, ContentLanguage: head.ContentLanguage,
		ContentType: head.ContentType, WebsiteRedirectLocation: head.WebsiteRedirectLocation,
	}); err != nil {
		return false, fmt.Errorf("tagging %s/%s as obsolete (versioned assets need s3:GetObjectTagging, s3:PutObjectTagging, s3:GetObject and s3:PutObject): %w", bucket, key, err)
	}
	return true, nil
}

// uriComponent escapes s for a query or copy source; spaces become %20,
// never "+", which S3 would read as a plus sign in a key.
func uriComponent(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// websiteObjects lists the files of dir by the key each goes to under
// prefix, and the ETags of the objects already under prefix.
func websiteObjects(ctx context.Context, c S3, bucket, prefix, dir string) (local, remote map[string]string, err error) {
	local = map[string]string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		local[path.Join(prefix, filepath.ToSlash(rel))] = p
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading website directory: %w", err)
	}
	objects, err := listAll(ctx, c, bucket, prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("listing bucket %s: %w", bucket, err)
	}
	remote = map[string]string{}
	for _, o := range objects {
		remote[aws.ToString(o.Key)] = aws.ToString(o.ETag)
	}
	return local, remote, nil
}

// SyncWebsiteDirectory makes the objects under prefix in bucket mirror
// dir, as serverless-lift's upload does after a deploy: files that are
// new or whose MD5 differs from the object's ETag are put with the
// content type their extension gives. Objects under prefix with no file
// are deleted, unless versioned (lift's versionedAssets): then they are
// tagged obsolete and expire later, and unchanged files that were
// tagged before get their tag removed.
func SyncWebsiteDirectory(ctx context.Context, c S3, bucket, prefix, dir string, versioned bool) (WebsiteSync, error) {
	var res WebsiteSync
	local, remote, err := websiteObjects(ctx, c, bucket, prefix, dir)
	if err != nil {
		return res, err
	}
	keys := make([]string, 0, len(local))
	for k := range local {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		etag, exists := remote[key]
		changed, err := putIfChanged(ctx, c, bucket, key, local[key], etag)
		if err != nil {
			return res, err
		}
		switch {
		case changed:
			res.Uploaded = append(res.Uploaded, key)
		case exists && versioned:
			restored, err := restoreIfObsolete(ctx, c, bucket, key)
			if err != nil {
				return res, err
			}
			if restored {
				res.Restored = append(res.Restored, key)
			}
		}
	}
	var obsoleteKeys []string
	for key := range remote {
		if _, ok := local[key]; !ok {
			obsoleteKeys = append(obsoleteKeys, key)
		}
	}
	sort.Strings(obsoleteKeys)
	if versioned {
		now := time.Now()
		for _, key := range obsoleteKeys {
			tagged, err := tagObsolete(ctx, c, bucket, key, now)
			if err != nil {
				return res, err
			}
			if tagged {
				res.Tagged = append(res.Tagged, key)
			}
		}
		return res, nil
	}
	obsolete := make([]s3types.Object, 0, len(obsoleteKeys))
	for _, key := range obsoleteKeys {
		obsolete = append(obsolete, s3types.Object{Key: aws.String(key)})
	}
	res.Deleted = obsoleteKeys
	if err := deleteObjects(ctx, c, bucket, obsolete); err != nil {
		return res, fmt.Errorf("deleting obsolete website files from %s: %w", bucket, err)
	}
	return res, nil
}

// PutWebsiteFile uploads one file to key unless the object there already
// has its content (a server-side website's single-file assets); when it
// has and versioned, an obsolete tag on it is removed, which counts as a
// change as in lift.
func PutWebsiteFile(ctx context.Context, c S3, bucket, key, file string, versioned bool) (bool, error) {
	etag, exists, err := objectETag(ctx, c, bucket, key)
	if err != nil {
		return false, err
	}
	put, err := putIfChanged(ctx, c, bucket, key, file, etag)
	if err != nil || put || !exists || !versioned {
		return put, err
	}
	return restoreIfObsolete(ctx, c, bucket, key)
}

// objectETag reads the ETag of the object at key; exists is false when
// there is none.
func objectETag(ctx context.Context, c S3, bucket, key string) (etag string, exists bool, err error) {
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var notFound *s3types.NotFound
		if errors.As(err, &notFound) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("reading %s/%s: %w", bucket, key, err)
	}
	return aws.ToString(head.ETag), true, nil
}

func putIfChanged(ctx context.Context, c S3, bucket, key, file, etag string) (bool, error) {
	content, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	sum := md5.Sum(content)
	if etag == `"`+hex.EncodeToString(sum[:])+`"` {
		return false, nil
	}
	// Without parameters, as lift's mime-types lookup gives it.
	contentType, _, _ := mime.ParseMediaType(mime.TypeByExtension(path.Ext(key)))
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(content), ContentType: aws.String(contentType)}); err != nil {
		return false, fmt.Errorf("uploading %s to %s: %w", key, bucket, err)
	}
	return true, nil
}

// CloudFront is the part of the CloudFront API the engine uses.
type CloudFront interface {
	CreateInvalidation(context.Context, *cloudfront.CreateInvalidationInput, ...func(*cloudfront.Options)) (*cloudfront.CreateInvalidationOutput, error)
}

// InvalidateDistribution clears a distribution's whole cache ("/*"), as
// lift does after uploading a website's changed files. The caller
// reference only has to be unique per request; lift uses the time.
func InvalidateDistribution(ctx context.Context, c CloudFront, distributionID string, now time.Time) error {
	_, err := c.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(distributionID),
		InvalidationBatch: &cloudfronttypes.InvalidationBatch{
			CallerReference: aws.String(strconv.FormatInt(now.UnixMilli(), 10)),
			Paths:           &cloudfronttypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}},
		},
	})
	if err != nil {
		return fmt.Errorf("invalidating the CloudFront cache of distribution %s: %w", distributionID, err)
	}
	return nil
}

// UploadWebsitesAfterDeploy uploads the files of lift's website
// constructs after a deploy, as lift's after-deploy hook does: each
// directory mirrored into the bucket the stack's outputs name, each
// single file put under its key. When a website's files changed, or it
// is named in uploadedBefore (UploadAssetsBeforeDeploy put files there),
// its distribution's cache is invalidated so visitors get them at once;
// lift skips that when the stack has no distribution ID output, and so
// does this.
func UploadWebsitesAfterDeploy(ctx context.Context, c *Clients, serviceDir string, sites []lift.Website, outputs map[string]string, uploadedBefore map[string]bool, r Reporter) error {
	step := func(msg string) {
		if r != nil {
			r.Step(msg)
		}
	}
	for _, w := range sites {
		bucket := outputs[w.BucketOutput]
		if bucket == "" {
			return fmt.Errorf("Could not find the bucket in which to deploy the '%s' website: the stack has no output %s", w.ID, w.BucketOutput)
		}
		changed := false
		for _, u := range w.Uploads {
			local, info, err := uploadSource(serviceDir, w.ID, u)
			if err != nil {
				return err
			}
			if info.IsDir() {
				step(fmt.Sprintf("Uploading directory '%s' to bucket '%s'", u.Local, bucket))
				res, err := SyncWebsiteDirectory(ctx, c.S3, bucket, u.Prefix, local, w.Versioned)
				if err != nil {
					return err
				}
				changed = changed || res.Changed()
				continue
			}
			key := path.Join(u.Prefix, filepath.Base(local))
			step(fmt.Sprintf("Uploading '%s' to 's3://%s/%s'", u.Local, bucket, key))
			put, err := PutWebsiteFile(ctx, c.S3, bucket, key, local, w.Versioned)
			if err != nil {
				return err
			}
			changed = changed || put
		}
		id := outputs[w.DistributionOutput]
		if !(changed || uploadedBefore[w.ID]) || id == "" {
			continue
		}
		if c.CloudFront == nil {
			return fmt.Errorf("cannot invalidate the CloudFront cache of the '%s' website: no CloudFront client", w.ID)
		}
		step("Clearing CloudFront DNS cache")
		if err := InvalidateDistribution(ctx, c.CloudFront, id, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// uploadSource finds a website upload's file or directory, relative to
// the service unless absolute.
func uploadSource(serviceDir, siteID string, u lift.Upload) (string, fs.FileInfo, error) {
	local := u.Local
	if !filepath.IsAbs(local) {
		local = filepath.Join(serviceDir, local)
	}
	info, err := os.Stat(local)
	if err != nil {
		return "", nil, fmt.Errorf("Error in 'constructs.%s': the file or directory '%s' does not exist", siteID, u.Local)
	}
	return local, info, nil
}

// UploadAssetsBeforeDeploy is lift's preDeploy for server-side websites
// with versionedAssets: before the stack update switches the backend to
// new code, the assets it may reference are put in the bucket, only
// those not there yet and deleting nothing, so pages from old and new
// code both find theirs. A stack or bucket that does not exist yet is
// not an error (the first deploy uploads afterwards). It returns the
// websites that got files; their caches are cleared after the deploy.
func UploadAssetsBeforeDeploy(ctx context.Context, c *Clients, stackName, serviceDir string, sites []lift.Website, r Reporter) (map[string]bool, error) {
	uploaded := map[string]bool{}
	var outputs map[string]string
	for _, w := range sites {
		if w.Type != lift.ServerSideWebsiteType || !w.Versioned {
			continue
		}
		if outputs == nil {
			var err error
			if outputs, err = currentStackOutputs(ctx, c.CloudFormation, stackName); err != nil {
				return nil, err
			}
		}
		bucket := outputs[w.BucketOutput]
		if bucket == "" {
			continue
		}
		for _, u := range w.Uploads {
			local, info, err := uploadSource(serviceDir, w.ID, u)
			if err != nil {
				return nil, err
			}
			if r != nil {
				r.Step(fmt.Sprintf("Uploading '%s' to 's3://%s/%s'", u.Local, bucket, u.Prefix))
			}
			key := path.Join(u.Prefix, filepath.Base(local))
			files, existing := map[string]string{key: local}, map[string]string{}
			if info.IsDir() {
				files, existing, err = websiteObjects(ctx, c.S3, bucket, u.Prefix, local)
			} else {
				var etag string
				var exists bool
				if etag, exists, err = objectETag(ctx, c.S3, bucket, key); exists {
					existing[key] = etag
				}
			}
			if err != nil {
				return nil, err
			}
			keys := make([]string, 0, len(files))
			for k := range files {
				if _, ok := existing[k]; !ok {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, key := range keys {
				if _, err := putIfChanged(ctx, c.S3, bucket, key, files[key], ""); err != nil {
					return nil, err
				}
				uploaded[w.ID] = true
			}
		}
	}
	return uploaded, nil
}

// currentStackOutputs reads a stack's outputs; none when it does not
// exist.
func currentStackOutputs(ctx context.Context, c CloudFormation, stackName string) (map[string]string, error) {
	out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stackName)})
	if isStackMissing(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the outputs of stack %s: %w", stackName, err)
	}
	if len(out.Stacks) == 0 {
		return map[string]string{}, nil
	}
	return StackOutputs(&out.Stacks[0]), nil
}

// EmptyWebsiteBuckets deletes every object of the deployed stack's
// website buckets, as lift's before:remove hook does: the buckets are
// part of the stack and CloudFormation cannot delete a bucket that still
// holds files. Websites whose bucket the stack does not name (or a stack
// that does not exist) are skipped.
func EmptyWebsiteBuckets(ctx context.Context, c *Clients, stackName string, sites []lift.Website, r Reporter) error {
	if len(sites) == 0 {
		return nil
	}
	outputs, err := currentStackOutputs(ctx, c.CloudFormation, stackName)
	if err != nil {
		return err
	}
	for _, w := range sites {
		bucket := outputs[w.BucketOutput]
		if bucket == "" {
			continue
		}
		if r != nil {
			kind := "website"
			if w.Type != lift.ServerSideWebsiteType {
				kind = "static website"
			}
			r.Step(fmt.Sprintf("Emptying S3 bucket '%s' for the '%s' %s, else CloudFormation will fail (it cannot delete a non-empty bucket)", bucket, w.ID, kind))
		}
		if err := emptyWebsiteBucket(ctx, c.S3, bucket); err != nil {
			return err
		}
	}
	return nil
}

func emptyWebsiteBucket(ctx context.Context, c S3, bucket string) error {
	objects, err := listAll(ctx, c, bucket, "")
	if err != nil {
		return fmt.Errorf("listing bucket %s: %w", bucket, err)
	}
	if err := deleteObjects(ctx, c, bucket, objects); err != nil {
		return fmt.Errorf("emptying bucket %s: %w", bucket, err)
	}
	return nil
}
