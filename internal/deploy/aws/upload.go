package aws

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/packaging"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// uploadItem is one object of a deployment directory.
type uploadItem struct {
	key  string
	path string // file to read, or "" with body
	body []byte
	hash string // filesha256 metadata
}

// upload puts the artifacts, then the state and compiled template, into the
// deployment directory. Artifacts go in parallel; a zip whose content was
// already uploaded under another name is copied server-side instead of sent
// again. The template goes last: a directory without it is incomplete, and
// rollback ignores it.
func upload(ctx context.Context, c S3, b *Bundle, bucket string, concurrency int, putOpts ...func(*s3.Options)) error {
	dir := b.ArtifactDirectoryName + "/"
	var items []uploadItem
	seenPath := map[string]bool{}
	for _, a := range b.Artifacts {
		if seenPath[a] {
			continue
		}
		seenPath[a] = true
		h, err := packaging.FileSHA256(a)
		if err != nil {
			return err
		}
		items = append(items, uploadItem{key: dir + uploadName(a), path: a, hash: h})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	// First object of each content is sent; the others copy it.
	firstOf := map[string]string{}
	var send, copies []uploadItem
	for _, it := range items {
		if src, ok := firstOf[it.hash]; ok {
			it.body = []byte(src) // source key, reused as a marker
			copies = append(copies, it)
			continue
		}
		firstOf[it.hash] = it.key
		send = append(send, it)
	}
	put := func(it uploadItem) error {
		body := it.body
		if it.path != "" {
			data, err := os.ReadFile(it.path)
			if err != nil {
				return err
			}
			body = data
		}
		in := &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(it.key), Body: bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))),
			Metadata:      map[string]string{"filesha256": it.hash},
		}
		if strings.HasSuffix(it.key, ".json") {
			in.ContentType = aws.String("application/json")
		} else {
			in.ContentType = aws.String("application/zip")
		}
		b.Encryption.applyToPut(in)
		_, err := c.PutObject(ctx, in, putOpts...)
		if err != nil {
			return fmt.Errorf("upload %s: %w", it.key, CredentialsError(err))
		}
		return nil
	}
	if err := parallel(ctx, len(send), concurrency, func(i int) error { return put(send[i]) }); err != nil {
		return err
	}
	if err := parallel(ctx, len(copies), concurrency, func(i int) error {
		return copyObject(ctx, c, bucket, string(copies[i].body), copies[i].key, copies[i].hash, b.Encryption, put, copies[i])
	}); err != nil {
		return err
	}
	stateHash, err := NormalizedStateHash(b.State)
	if err != nil {
		return err
	}
	if err := put(uploadItem{key: dir + StateFileName, body: b.State, hash: stateHash}); err != nil {
		return err
	}
	templateHash, err := NormalizedTemplateHash(b.Template)
	if err != nil {
		return err
	}
	return put(uploadItem{key: dir + CompiledTemplateFile, body: b.Template, hash: templateHash})
}

// copier is implemented by S3 clients that can copy server-side.
type copier interface {
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
}

func copyObject(ctx context.Context, c S3, bucket, from, to, hash string, enc BucketEncryption, put func(uploadItem) error, it uploadItem) error {
	cp, ok := c.(copier)
	if !ok {
		it.body = nil
		return put(it)
	}
	in := &s3.CopyObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(to),
		CopySource:        aws.String(bucket + "/" + url.PathEscape(from)),
		MetadataDirective: s3types.MetadataDirectiveReplace,
		Metadata:          map[string]string{"filesha256": hash},
		ContentType:       aws.String("application/zip"),
	}
	enc.applyToCopy(in)
	_, err := cp.CopyObject(ctx, in)
	if err != nil {
		it.body = nil
		return put(it)
	}
	return nil
}

// Deployment is one timestamped directory in the deployment bucket.
type Deployment struct {
	// Dir is "<prefix>/<service>/<stage>/<ms>-<iso>".
	Dir       string
	Timestamp int64 // milliseconds since the epoch
	Time      time.Time
	Files     []string
	Objects   []s3types.Object
}

// groupDeployments groups objects by deployment directory, oldest first.
func groupDeployments(objects []s3types.Object) []*Deployment {
	byDir := map[string]*Deployment{}
	for _, o := range objects {
		key := str(o.Key)
		parts := strings.Split(key, "/")
		if len(parts) < 5 || !deploymentDirRE.MatchString(parts[3]) {
			continue
		}
		dir := strings.Join(parts[:4], "/")
		d := byDir[dir]
		if d == nil {
			d = &Deployment{Dir: dir}
			ms, iso, _ := strings.Cut(parts[3], "-")
			fmt.Sscan(ms, &d.Timestamp)
			d.Time, _ = time.Parse("2006-01-02T15:04:05.000Z", iso)
			if d.Time.IsZero() {
				d.Time = time.UnixMilli(d.Timestamp).UTC()
			}
			byDir[dir] = d
		}
		d.Files = append(d.Files, strings.Join(parts[4:], "/"))
		d.Objects = append(d.Objects, o)
	}
	out := make([]*Deployment, 0, len(byDir))
	for _, d := range byDir {
		sort.Strings(d.Files)
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out
}

// removeDirectory deletes every object under prefix. It runs with its own
// context so an interrupted deploy still cleans up its partial upload.
func removeDirectory(c S3, bucket, prefix string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	objects, err := listAll(ctx, c, bucket, prefix)
	if err != nil {
		return err
	}
	return deleteObjects(ctx, c, bucket, objects)
}

func deleteObjects(ctx context.Context, c S3, bucket string, objects []s3types.Object) error {
	for start := 0; start < len(objects); start += 1000 {
		end := start + 1000
		if end > len(objects) {
			end = len(objects)
		}
		ids := make([]s3types.ObjectIdentifier, 0, end-start)
		for _, o := range objects[start:end] {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		}); err != nil {
			return err
		}
	}
	return nil
}

// pruneDeployments keeps the newest MaxPreviousArtifacts directories (v3:
// deploymentBucket.maxPreviousDeploymentArtifacts, default 5; 0 keeps none).
func pruneDeployments(ctx context.Context, c S3, b *Bundle, bucket string) error {
	keep := b.MaxPreviousArtifacts
	switch {
	case keep == KeepNoArtifacts:
		keep = 0
	case keep <= 0:
		keep = 5
	}
	objects, err := listAll(ctx, c, bucket, b.ServicePrefix())
	if err != nil {
		return err
	}
	dirs := groupDeployments(objects)
	if len(dirs) <= keep {
		return nil
	}
	var old []s3types.Object
	for _, d := range dirs[:len(dirs)-keep] {
		old = append(old, d.Objects...)
	}
	return deleteObjects(ctx, c, bucket, old)
}
