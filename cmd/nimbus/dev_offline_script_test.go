package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands for serverless-offline's options in `nimbus dev`:
//
//	selfcert DIR               write a self-signed cert.pem and key.pem for 127.0.0.1 into DIR
//	httpx METHOD URL [BODY] [-H Name:Value]...
//	                           like httpdo, but prints every response header
//	                           ("Name: value", one line per value, sorted) and
//	                           accepts any TLS certificate
//	idle DURATION              do nothing for DURATION (e.g. 2500ms), letting
//	                           idle instances be reaped
//	jwtunsigned VAR ISS AUD SUB
//	                           set VAR to an RS256 JWT for those claims, valid
//	                           for an hour, whose signature is garbage
func init() {
	scriptCmds["idle"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: idle DURATION")
		}
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		time.Sleep(d)
	}
	scriptCmds["jwtunsigned"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 4 {
			ts.Fatalf("usage: jwtunsigned VAR ISS AUD SUB")
		}
		enc := func(v any) string {
			b, err := json.Marshal(v)
			ts.Check(err)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		claims := map[string]any{"iss": args[1], "aud": args[2], "sub": args[3], "exp": time.Now().Add(time.Hour).Unix()}
		ts.Setenv(args[0], enc(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})+"."+enc(claims)+"."+
			base64.RawURLEncoding.EncodeToString([]byte("not a signature")))
	}
	scriptCmds["selfcert"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: selfcert DIR")
		}
		dir := ts.MkAbs(args[0])
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ts.Check(err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
			KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		ts.Check(err)
		kb, err := x509.MarshalECPrivateKey(key)
		ts.Check(err)
		ts.Check(os.MkdirAll(dir, 0o755))
		ts.Check(os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
		ts.Check(os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	}
	scriptCmds["httpx"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: httpx METHOD URL [BODY] [-H Name:Value]...")
		}
		var body io.Reader
		req, err := http.NewRequest(args[0], args[1], nil)
		ts.Check(err)
		rest := args[2:]
		for i := 0; i < len(rest); i++ {
			if rest[i] == "-H" && i+1 < len(rest) {
				k, v, _ := strings.Cut(rest[i+1], ":")
				req.Header.Set(k, strings.TrimSpace(v))
				i++
				continue
			}
			body = strings.NewReader(rest[i])
		}
		if body != nil {
			req.Body = io.NopCloser(body)
		}
		c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		}}
		resp, err := c.Do(req)
		ts.Check(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(ts.Stdout(), "%d\n%s\n", resp.StatusCode, b)
		names := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(ts.Stdout(), "%s: %s\n", k, v)
			}
		}
		if resp.TLS != nil {
			fmt.Fprintln(ts.Stdout(), "TLS: yes")
		}
	}
}
