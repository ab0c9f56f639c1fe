package runtimes

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

func svcIn(t *testing.T, dir, yml string) *service.Service {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return service.New(root, dir, filepath.Join(dir, "serverless.yml"), nil)
}

func write(t *testing.T, dir, name, body string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func resolve(t *testing.T, dir, yml, fn string) (*Launch, error) {
	t.Helper()
	s := svcIn(t, dir, yml)
	return NewResolver(filepath.Join(dir, ".nimbus")).Resolve(context.Background(), s, s.Function(fn))
}

func TestSupported(t *testing.T) {
	for rt, want := range map[string]bool{
		"nodejs18.x": true, "nodejs22.x": true, "python3.9": true, "python3.13": true,
		"provided.al2": true, "provided.al2023": true, "go1.x": true, "provided": true,
		"java17": false, "ruby3.3": false, "dotnet8": false, "python2.7": false,
	} {
		if Supported(rt) != want {
			t.Errorf("Supported(%s) = %v", rt, !want)
		}
	}
}

func TestUnsupportedRuntimeAndImages(t *testing.T) {
	dir := t.TempDir()
	_, err := resolve(t, dir, "service: s\nprovider: {name: aws, runtime: ruby3.3}\nfunctions:\n  f: {handler: h.run}\n", "f")
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Runtime != "ruby3.3" || !strings.Contains(err.Error(), "runtime ruby3.3 is not supported locally") {
		t.Errorf("err = %v", err)
	}
	_, err = resolve(t, dir, "service: s\nprovider: {name: aws}\nfunctions:\n  f: {image: 123.dkr.ecr.us-east-1.amazonaws.com/x:latest}\n", "f")
	if err == nil || !strings.Contains(err.Error(), "container image") {
		t.Errorf("image err = %v", err)
	}
}

func TestInterpretedRuntimesUseEmbeddedLoops(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ runtime, tool, file string }{
		{"nodejs20.x", "node", "node.cjs"}, {"python3.11", "python3", "python.py"},
	} {
		if _, err := exec.LookPath(tc.tool); err != nil {
			continue
		}
		l, err := resolve(t, dir, "service: s\nprovider: {name: aws, runtime: "+tc.runtime+"}\nfunctions:\n  f: {handler: src/h.handler}\n", "f")
		if err != nil {
			t.Fatal(err)
		}
		boot := l.Args[len(l.Args)-1]
		data, err := os.ReadFile(boot)
		if err != nil || filepath.Base(boot) != tc.file || !strings.Contains(string(data), "AWS_LAMBDA_RUNTIME_API") {
			t.Errorf("%s: bootstrap %s (%v)", tc.runtime, boot, err)
		}
		if l.Kind != Interpreted || l.TaskRoot != dir || l.Handler != "src/h.handler" || l.CodeRoot != dir {
			t.Errorf("%s: %+v", tc.runtime, l)
		}
	}
}

func TestNativeResolution(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bootstrap", "#!/bin/sh\n", 0o755)
	l, err := resolve(t, dir, "service: s\nprovider: {name: aws, runtime: provided.al2}\nfunctions:\n  f: {handler: anything}\n", "f")
	if err != nil || l.Kind != Binary || l.Path != filepath.Join(dir, "bootstrap") {
		t.Errorf("prebuilt bootstrap: %+v %v", l, err)
	}

	empty := t.TempDir()
	_, err = resolve(t, empty, "service: s\nprovider: {name: aws, runtime: go1.x}\nfunctions:\n  f: {handler: bin/hello}\n", "f")
	if err == nil || !strings.Contains(err.Error(), "no executable bin/hello and no Go main package to build it from") {
		t.Errorf("nothing to run: %v", err)
	}

	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	// Makefile layouts build bin/NAME from NAME/: Nimbus builds it itself.
	src := t.TempDir()
	write(t, src, "go.mod", "module example.com/s\n\ngo 1.22\n", 0o644)
	write(t, src, "hello/main.go", "package main\n\nfunc main() {}\n", 0o644)
	l, err = resolve(t, src, "service: s\nprovider: {name: aws, runtime: go1.x}\nfunctions:\n  f: {handler: bin/hello}\n", "f")
	if err != nil || l.Kind != GoSource || l.GoPackage != filepath.Join(src, "hello") || l.CodeRoot != src {
		t.Fatalf("go source: %+v %v", l, err)
	}
	if st, err := os.Stat(l.Path); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("built binary %s: %v", l.Path, err)
	}
}

func TestArtifactIsExtracted(t *testing.T) {
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "dist", "fn.zip")
	os.MkdirAll(filepath.Dir(zipPath), 0o755)
	f, _ := os.Create(zipPath)
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	w.Write([]byte("#!/bin/sh\necho hi\n"))
	w, _ = zw.Create("lib/data.txt")
	w.Write([]byte("data"))
	zw.Close()
	f.Close()

	l, err := resolve(t, dir, "service: s\nprovider: {name: aws, runtime: provided.al2023}\nfunctions:\n  f:\n    handler: bootstrap\n    package: {artifact: dist/fn.zip}\n", "f")
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != Binary || filepath.Dir(l.Path) != l.TaskRoot || !strings.HasPrefix(l.TaskRoot, filepath.Join(dir, ".nimbus", "artifacts")) {
		t.Errorf("artifact launch: %+v", l)
	}
	if data, err := os.ReadFile(filepath.Join(l.TaskRoot, "lib", "data.txt")); err != nil || string(data) != "data" {
		t.Errorf("extracted file: %q %v", data, err)
	}
	if out, err := exec.Command(l.Path).Output(); err != nil || string(out) != "hi\n" {
		t.Errorf("extracted bootstrap ran: %q %v", out, err)
	}

	// An entry escaping the archive is refused.
	evil := filepath.Join(dir, "evil.zip")
	f, _ = os.Create(evil)
	zw = zip.NewWriter(f)
	w, _ = zw.Create("../../escape.sh")
	w.Write([]byte("x"))
	zw.Close()
	f.Close()
	_, err = resolve(t, dir, "service: s\nprovider: {name: aws, runtime: provided.al2}\npackage: {artifact: evil.zip}\nfunctions:\n  f: {handler: bootstrap}\n", "f")
	if err == nil || !strings.Contains(err.Error(), "escapes the archive") {
		t.Errorf("zip slip: %v", err)
	}
}

func TestUnusableBinariesAreExplained(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bin/empty", "", 0o755)
	_, err := resolve(t, dir, "service: s\nprovider: {name: aws, runtime: go1.x}\nfunctions:\n  f: {handler: bin/empty}\n", "f")
	if err == nil || !strings.Contains(err.Error(), "bin/empty: the file is empty or too short to be a program") {
		t.Errorf("empty binary: %v", err)
	}
	write(t, dir, "bin/text", "just text, no shebang", 0o755)
	_, err = resolve(t, dir, "service: s\nprovider: {name: aws, runtime: go1.x}\nfunctions:\n  f: {handler: bin/text}\n", "f")
	if err == nil || !strings.Contains(err.Error(), "not a Linux executable or script") {
		t.Errorf("text file: %v", err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not on PATH")
	}
	// A binary for another architecture falls back to building the source.
	foreign := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		foreign = elf.EM_X86_64
	}
	var hdr bytes.Buffer
	ident := [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	binary.Write(&hdr, binary.LittleEndian, elf.Header64{
		Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(foreign), Version: uint32(elf.EV_CURRENT),
		Ehsize: 64, Phentsize: 56, Shentsize: 64,
	})
	write(t, dir, "bin/hello", hdr.String(), 0o755)
	write(t, dir, "go.mod", "module example.com/x\n\ngo 1.22\n", 0o644)
	write(t, dir, "hello/main.go", "package main\n\nfunc main() {}\n", 0o644)
	l, err := resolve(t, dir, "service: s\nprovider: {name: aws, runtime: go1.x}\nfunctions:\n  f: {handler: bin/hello}\n", "f")
	if err != nil || l.Kind != GoSource {
		t.Errorf("foreign binary with source: %+v %v", l, err)
	}
	os.RemoveAll(filepath.Join(dir, "hello"))
	_, err = resolve(t, dir, "service: s\nprovider: {name: aws, runtime: go1.x}\nfunctions:\n  f: {handler: bin/hello}\n", "f")
	if err == nil || !strings.Contains(err.Error(), "but this machine is "+runtime.GOARCH) {
		t.Errorf("foreign binary without source: %v", err)
	}
}
