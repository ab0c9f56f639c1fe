package packaging

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unicode/utf8"
)

// Every entry gets the same timestamp so unchanged code zips to the same
// bytes. serverless v3 asks for new Date(0), which zip's MS-DOS time cannot
// hold and archiver clamps to the DOS epoch, 1980-01-01 00:00:00; we write
// that value directly. It goes into the DOS date/time fields only (no
// extended-timestamp extra field), so nothing in an entry varies by run,
// machine or time zone.
const (
	dosEpochDate = 1<<5 | 1 // 1980-01-01: (year-1980)<<9 | month<<5 | day
	dosEpochTime = 0
)

// Entry modes: Lambda needs the executable bit (for `bootstrap`, Go binaries,
// scripts), everything else is stored as 0644 whatever the local umask.
const (
	modeFile       = 0o644
	modeExecutable = 0o755
	unixRegular    = 0o100000 // S_IFREG, so unzip tools see a regular file
	creatorUnix    = 3 << 8   // "version made by": Unix, so the mode is honoured
	zipVersion20   = 20
)

// compressionLevel is deflate's default (6), the level archiver (v3) uses.
const compressionLevel = flate.DefaultCompression

// compressed is one file deflated once and shared by every zip that holds
// it: a service packaged individually often puts the same files in many
// function zips.
type compressed struct {
	done       chan struct{}
	data       []byte
	crc        uint32
	size       uint64
	executable bool
	err        error
}

// compressor deflates files on at most `workers` goroutines at a time and
// remembers each result until every zip that needs it has written it.
type compressor struct {
	sem   chan struct{}
	mu    sync.Mutex
	cache map[string]*compressed
	users map[string]int // zips still to write each file
}

func newCompressor(workers int, users map[string]int) *compressor {
	return &compressor{sem: make(chan struct{}, workers), cache: map[string]*compressed{}, users: users}
}

// get returns the (possibly still running) compression of the file at abs.
func (c *compressor) get(ctx context.Context, abs string) *compressed {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cache[abs]; ok {
		return e
	}
	e := &compressed{done: make(chan struct{})}
	c.cache[abs] = e
	go func() {
		defer close(e.done)
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			e.err = ctx.Err()
			return
		}
		defer func() { <-c.sem }()
		e.data, e.crc, e.size, e.executable, e.err = deflateFile(abs)
	}()
	return e
}

// release says one zip has written abs; the last one frees the data.
func (c *compressor) release(abs string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users[abs]--
	if c.users[abs] <= 0 {
		delete(c.cache, abs)
	}
}

// bufferedWriters batch each zip's many small writes into few syscalls.
var bufferedWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// flateWriters recycles compressors: each holds about a megabyte of
// tables, too much to allocate per file.
var flateWriters = sync.Pool{New: func() any {
	fw, err := flate.NewWriter(io.Discard, compressionLevel)
	if err != nil {
		panic(err) // only for an invalid level, a constant here
	}
	return fw
}}

func deflateFile(abs string) (data []byte, crc uint32, size uint64, executable bool, err error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, 0, 0, false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, 0, false, err
	}
	var buf bytes.Buffer
	buf.Grow(int(info.Size()/2) + 64)
	fw := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(fw)
	fw.Reset(&buf)
	h := crc32.NewIEEE()
	n, err := io.Copy(io.MultiWriter(fw, h), f)
	if err != nil {
		return nil, 0, 0, false, err
	}
	if err := fw.Close(); err != nil {
		return nil, 0, 0, false, err
	}
	return buf.Bytes(), h.Sum32(), uint64(n), isExecutable(info.Mode()), nil
}

// isExecutable decides an entry's 0755. Windows has no executable bit, so
// there every file is stored executable, as v3 does, or a `bootstrap`
// built on Windows could not start.
func isExecutable(mode os.FileMode) bool {
	return runtime.GOOS == "windows" || mode&0o100 != 0
}

// zipEntry is one file to store: its name in the zip and where to read it.
type zipEntry struct {
	Name string
	Abs  string
}

// lookahead is how many entries past the one being written a zip asks the
// compressor for, so files of one zip compress in parallel while entries
// are still written in order.
const lookahead = 64

// writeZip writes entries (already sorted by name) to a new temporary file
// in dir and returns its path, so the caller can rename it into place only
// when everything succeeded. Every byte written is also copied to tee.
func writeZip(ctx context.Context, c *compressor, dir, name string, entries []zipEntry, tee io.Writer) (tmp string, err error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return "", err
	}
	tmpName := f.Name() // returns below reset tmp; the cleanup needs the name
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmpName)
		}
	}()
	pending := make([]*compressed, len(entries))
	ask := func(i int) {
		if i < len(entries) && pending[i] == nil {
			pending[i] = c.get(ctx, entries[i].Abs)
		}
	}
	for i := 0; i < lookahead; i++ {
		ask(i)
	}
	bw := bufferedWriters.Get().(*bufio.Writer)
	defer bufferedWriters.Put(bw)
	bw.Reset(io.MultiWriter(f, tee))
	zw := zip.NewWriter(bw)
	for i, e := range entries {
		ask(i + lookahead)
		p := pending[i]
		select {
		case <-p.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if p.err != nil {
			return "", fmt.Errorf("cannot read %s: %w", e.Name, p.err)
		}
		if err := writeEntry(zw, e.Name, p); err != nil {
			return "", err
		}
		pending[i] = nil
		c.release(e.Abs)
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return tmpName, nil
}

func writeEntry(zw *zip.Writer, name string, p *compressed) error {
	mode := uint32(modeFile)
	if p.executable {
		mode = modeExecutable
	}
	fh := &zip.FileHeader{
		Name:               name,
		Method:             zip.Deflate,
		CreatorVersion:     creatorUnix | zipVersion20,
		ReaderVersion:      zipVersion20,
		ModifiedDate:       dosEpochDate,
		ModifiedTime:       dosEpochTime,
		CRC32:              p.crc,
		CompressedSize64:   uint64(len(p.data)),
		UncompressedSize64: p.size,
		ExternalAttrs:      (unixRegular | mode) << 16,
	}
	if !isASCII(name) && utf8.ValidString(name) {
		fh.Flags |= 0x800 // names are UTF-8
	}
	w, err := zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	_, err = w.Write(p.data)
	return err
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FileSHA256 returns the base64 SHA-256 of a file, the form Lambda reports
// as CodeSha256 and the deploy stage compares to skip unchanged uploads.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// commitFiles renames finished temporary zips into place. Renames within
// one directory are atomic, so a reader sees the old zip or the new one,
// never a partial file.
func commitFiles(renames map[string]string) error {
	for tmp, final := range renames {
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("cannot move %s into place: %w", filepath.Base(final), err)
		}
	}
	return nil
}
