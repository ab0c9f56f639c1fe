package variables

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
)

// BenchmarkResolveCorpusService resolves the corpus service with the most
// variables (no file or remote sources), the work `print` does per run.
func BenchmarkResolveCorpusService(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpusDir, "public", "aws-python-pynamodb-s3-sigurl", "serverless.yml"))
	if err != nil {
		b.Skip("corpus not present")
	}
	root, ds := config.Parse("serverless.yml", data, nil)
	if ds.HasErrors() {
		b.Fatal(ds.Err())
	}
	opts := Options{CLIOptions: map[string]string{"stage": "dev", "region": "us-east-1"}, AWS: &fakeAWS{},
		Env: envMap(corpusEnv)}
	b.ReportAllocs()
	for b.Loop() {
		if _, ds := Resolve(context.Background(), root, opts); ds.HasErrors() {
			b.Fatal(ds.Err())
		}
	}
}
