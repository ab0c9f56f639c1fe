// Package customresources holds Nimbus' own Node.js handlers for the
// CloudFormation custom resources the compiled template may use (existing S3
// bucket notifications, existing Cognito user pool triggers, legacy
// EventBridge rules, API Gateway's CloudWatch role) and builds
// custom-resources.zip from them, byte for byte the same on every run so
// the artifact hash only changes when the handlers do.
package customresources

import (
	"archive/zip"
	"bytes"
	"embed"
	"io/fs"
	"sort"
	"time"
)

// ArtifactName is the zip's file name beside the service artifacts.
const ArtifactName = "custom-resources.zip"

//go:embed node
var handlers embed.FS

// handlerRoot is the folder inside the embedded FS that becomes the zip root.
const handlerRoot = "node"

// zipEpoch is the fixed modification time of every entry (zip's earliest).
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Zip returns custom-resources.zip: every handler file at its path under
// the zip root, sorted, with fixed times and modes.
func Zip() ([]byte, error) {
	var paths []string
	err := fs.WalkDir(handlers, handlerRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range paths {
		data, err := handlers.ReadFile(p)
		if err != nil {
			return nil, err
		}
		hdr := &zip.FileHeader{Name: p[len(handlerRoot)+1:], Method: zip.Deflate, Modified: zipEpoch}
		hdr.SetMode(0o644)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Files lists the paths inside the zip, sorted.
func Files() []string {
	var out []string
	_ = fs.WalkDir(handlers, handlerRoot, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, path[len(handlerRoot)+1:])
		}
		return nil
	})
	sort.Strings(out)
	return out
}
