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
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cloudfronttypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/nimbusfw/nimbus/internal/lift"
)

// WebsiteSync says what uploading a website's files changed.
type WebsiteSync struct {
	Uploaded, Deleted []string
}

// Changed reports whether anything was uploaded or deleted (lift then
// invalidates the CloudFront cache).
func (w WebsiteSync) Changed() bool { return len(w.Uploaded)+len(w.Deleted) > 0 }

// SyncWebsiteDirectory makes the objects under prefix in bucket mirror
// dir, as serverless-lift's upload does after a deploy: files that are
// new or whose MD5 differs from the object's ETag are put with the
// content type their extension gives, and objects under prefix with no
// file are deleted unless keepObsolete (lift's versionedAssets, which
// keeps them for pages still referencing them).
func SyncWebsiteDirectory(ctx context.Context, c S3, bucket, prefix, dir string, keepObsolete bool) (WebsiteSync, error) {
	var res WebsiteSync
	local := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
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
		return res, fmt.Errorf("reading website directory: %w", err)
	}
	remote := map[string]string{}
	var token *string
	for {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), ContinuationToken: token}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		out, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			return res, fmt.Errorf("listing bucket %s: %w", bucket, err)
		}
		for _, o := range out.Contents {
			remote[aws.ToString(o.Key)] = aws.ToString(o.ETag)
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		token = out.NextContinuationToken
	}
	keys := make([]string, 0, len(local))
	for k := range local {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		changed, err := putIfChanged(ctx, c, bucket, key, local[key], remote[key])
		if err != nil {
			return res, err
		}
		if changed {
			res.Uploaded = append(res.Uploaded, key)
		}
	}
	if keepObsolete {
		return res, nil
	}
	var obsolete []s3types.ObjectIdentifier
	for key := range remote {
		if _, ok := local[key]; !ok {
			obsolete = append(obsolete, s3types.ObjectIdentifier{Key: aws.String(key)})
			res.Deleted = append(res.Deleted, key)
		}
	}
	sort.Strings(res.Deleted)
	for len(obsolete) > 0 {
		// DeleteObjects takes at most 1000 keys.
		n := min(len(obsolete), 1000)
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
			Delete: &s3types.Delete{Objects: obsolete[:n], Quiet: aws.Bool(true)}}); err != nil {
			return res, fmt.Errorf("deleting obsolete website files from %s: %w", bucket, err)
		}
		obsolete = obsolete[n:]
	}
	return res, nil
}

// PutWebsiteFile uploads one file to key unless the object there already
// has its content (a server-side website's single-file assets).
func PutWebsiteFile(ctx context.Context, c S3, bucket, key, file string) (bool, error) {
	etag := ""
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		etag = aws.ToString(head.ETag)
	} else {
		var notFound *s3types.NotFound
		if !errors.As(err, &notFound) {
			return false, fmt.Errorf("reading %s/%s: %w", bucket, key, err)
		}
	}
	return putIfChanged(ctx, c, bucket, key, file, etag)
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

// UploadWebsites uploads the files of lift's website constructs after a
// deploy, as lift's after-deploy hook does: each directory mirrored into
// the bucket the stack's outputs name, each single file put under its
// key. When a website's files changed, its distribution's cache is
// invalidated so visitors get them at once; lift skips that when the
// stack has no distribution ID output, and so does this.
func UploadWebsites(ctx context.Context, c *Clients, serviceDir string, sites []lift.Website, outputs map[string]string, r Reporter) error {
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
			local := u.Local
			if !filepath.IsAbs(local) {
				local = filepath.Join(serviceDir, local)
			}
			info, err := os.Stat(local)
			if err != nil {
				return fmt.Errorf("Error in 'constructs.%s': the file or directory '%s' does not exist", w.ID, u.Local)
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
			put, err := PutWebsiteFile(ctx, c.S3, bucket, key, local)
			if err != nil {
				return err
			}
			changed = changed || put
		}
		id := outputs[w.DistributionOutput]
		if !changed || id == "" {
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
