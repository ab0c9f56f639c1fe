package packaging

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchService generates an individually packaged service of n functions:
// each has its own handler and function-level patterns, and all share a
// lib folder and a production node_modules tree, as a real service does.
func benchService(b *testing.B, n int) []fixtureFile {
	var yml strings.Builder
	yml.WriteString("service: bench\nprovider:\n  name: aws\n  runtime: nodejs20.x\npackage:\n  individually: true\n  patterns: ['!src/**']\nfunctions:\n")
	var files []fixtureFile
	for i := range n {
		fmt.Fprintf(&yml, "  fn%d:\n    handler: src/fn%d.handler\n    package:\n      patterns: ['src/fn%d.js']\n", i, i, i)
		files = append(files, fixtureFile{Path: fmt.Sprintf("src/fn%d.js", i), Body: strings.Repeat(fmt.Sprintf("exports.handler%d = async (e) => e;\n", i), 60)})
	}
	for i := range 40 {
		files = append(files, fixtureFile{Path: fmt.Sprintf("lib/mod%d.js", i), Body: strings.Repeat(fmt.Sprintf("const v%d = %d;\n", i, i), 500)})
	}
	deps := []string{}
	for i := range 30 {
		name := fmt.Sprintf("dep%d", i)
		deps = append(deps, fmt.Sprintf("%q: \"1.0.0\"", name))
		files = append(files,
			fixtureFile{Path: "node_modules/" + name + "/package.json", Body: fmt.Sprintf(`{"name":%q,"version":"1.0.0"}`, name)},
			fixtureFile{Path: "node_modules/" + name + "/index.js", Body: strings.Repeat("module.exports = function () { return 42; };\n", 100)},
			fixtureFile{Path: "node_modules/" + name + "/lib/util.js", Body: strings.Repeat("exports.x = 1;\n", 200)})
	}
	files = append(files, fixtureFile{Path: "package.json", Body: "{\"dependencies\":{" + strings.Join(deps, ",") + "},\"devDependencies\":{\"devtool\":\"1.0.0\"}}"},
		fixtureFile{Path: "node_modules/devtool/package.json", Body: `{"name":"devtool","version":"1.0.0"}`},
		fixtureFile{Path: "node_modules/devtool/index.js", Body: strings.Repeat("x", 50000)})
	return append([]fixtureFile{{Path: "serverless.yml", Body: yml.String()}}, files...)
}

// BenchmarkPackage packages a 300-function individually service (300 zips
// of ~110 files each, from one walk).
func BenchmarkPackage(b *testing.B) {
	dir := b.TempDir()
	writeFixture(b, dir, benchService(b, 300))
	svc := loadService(b, dir)
	// CPU time per package, beside wall time: on a shared machine wall
	// time mostly measures the other processes.
	start := cpuTime()
	for b.Loop() {
		res, ds := Package(context.Background(), svc, ".serverless")
		if ds.HasErrors() {
			b.Fatal(ds.Err())
		}
		if len(res.Functions) != 300 {
			b.Fatalf("%d function artifacts", len(res.Functions))
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkPackageLargeNodeModules packages 50 functions individually over
// a node_modules of 400 packages, half of them dev-only: selection cost
// is dominated by the dev-dependency excludes.
func BenchmarkPackageLargeNodeModules(b *testing.B) {
	var yml strings.Builder
	yml.WriteString("service: big\nprovider:\n  name: aws\n  runtime: nodejs20.x\npackage:\n  individually: true\nfunctions:\n")
	files := []fixtureFile{}
	for i := range 50 {
		fmt.Fprintf(&yml, "  fn%d:\n    handler: src/fn%d.handler\n    package:\n      patterns: ['!src/**', 'src/fn%d.js']\n", i, i, i)
		files = append(files, fixtureFile{Path: fmt.Sprintf("src/fn%d.js", i), Body: "exports.handler = async () => 1;\n"})
	}
	var prod, dev []string
	for i := range 400 {
		name := fmt.Sprintf("pkg%d", i)
		if i%2 == 0 {
			prod = append(prod, fmt.Sprintf("%q: \"1\"", name))
		} else {
			dev = append(dev, fmt.Sprintf("%q: \"1\"", name))
		}
		files = append(files, fixtureFile{Path: "node_modules/" + name + "/package.json", Body: fmt.Sprintf(`{"name":%q,"bin":"cli.js"}`, name)})
		for k := range 9 {
			files = append(files, fixtureFile{Path: fmt.Sprintf("node_modules/%s/lib/f%d.js", name, k), Body: "module.exports = 1;\n"})
		}
	}
	files = append(files, fixtureFile{Path: "package.json", Body: "{\"dependencies\":{" + strings.Join(prod, ",") + "},\"devDependencies\":{" + strings.Join(dev, ",") + "}}"})
	dir := b.TempDir()
	writeFixture(b, dir, append([]fixtureFile{{Path: "serverless.yml", Body: yml.String()}}, files...))
	svc := loadService(b, dir)
	start := cpuTime()
	for b.Loop() {
		res, ds := Package(context.Background(), svc, ".serverless")
		if ds.HasErrors() {
			b.Fatal(ds.Err())
		}
		if n := len(res.Artifacts[0].Files); n != 1+200*10+1 {
			b.Fatalf("%d files in the first zip, want handler + 200 prod packages + package.json", n)
		}
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}
