package dev

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/local"
	"github.com/nimbusfw/nimbus/internal/service"
)

const svcYML = `
service: shop
provider: {name: aws, runtime: nodejs20.x}
functions:
  api:
    handler: h.api
    events:
      - httpApi: GET /ping
  worker:
    handler: h.worker
    events:
      - sqs: {arn: !GetAtt Jobs.Arn, batchSize: 3, functionResponseType: ReportBatchItemFailures}
  external:
    handler: h.ext
    events:
      - sqs: arn:aws:sqs:us-east-1:123456789012:outside
  listener:
    handler: h.listen
    events:
      - sns: {arn: !Ref News, topicName: news, filterPolicy: {kind: [a]}}
      - sns: plain-topic
resources:
  Resources:
    Jobs:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: jobs
        VisibilityTimeout: 7
        RedrivePolicy: {deadLetterTargetArn: !GetAtt Dead.Arn, maxReceiveCount: 4}
    Dead:
      Type: AWS::SQS::Queue
    News:
      Type: AWS::SNS::Topic
      Properties:
        TopicName: news
        Subscription:
          - {Protocol: sqs, Endpoint: !GetAtt Dead.Arn}
    Sub:
      Type: AWS::SNS::Subscription
      Properties:
        TopicArn: !Ref News
        Protocol: lambda
        Endpoint: !GetAtt WorkerLambdaFunction.Arn
        FilterPolicy: {kind: [b]}
`

func load(t *testing.T, yml string) *service.Service {
	t.Helper()
	root, ds := config.Parse("serverless.yml", []byte(yml), diag.NewSources())
	if ds.HasErrors() {
		t.Fatal(ds.Err())
	}
	return service.New(root, t.TempDir(), "serverless.yml", nil)
}

func TestPlanFromService(t *testing.T) {
	p, ds := planFromService(load(t, svcYML))
	if ds.HasErrors() || len(ds) != 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	byName := map[string]int{}
	for i, q := range p.queues {
		byName[q.Name] = i
	}
	jobs := p.queues[byName["jobs"]]
	if jobs.VisibilityTimeout != 7*time.Second || jobs.DeadLetter != "Dead" || jobs.MaxReceiveCount != 4 {
		t.Errorf("jobs queue %+v", jobs)
	}
	if _, ok := byName["outside"]; !ok {
		t.Errorf("a queue named by ARN exists locally too: %v", byName)
	}
	if len(p.sources) != 2 || p.sources[0].Queue != "jobs" || p.sources[0].BatchSize != 3 || !p.sources[0].ReportFailures {
		t.Errorf("sources %+v", p.sources)
	}
	subs := p.subs["news"]
	if len(subs) != 3 {
		t.Fatalf("news subscriptions %+v", subs)
	}
	if subs[0].Protocol != "sqs" || subs[0].Endpoint != "Dead" || subs[1].Endpoint != "worker" || subs[2].Endpoint != "listener" {
		t.Errorf("news subscriptions %+v", subs)
	}
	if len(p.subs["plain-topic"]) != 1 {
		t.Errorf("plain topic %+v", p.subs)
	}
}

func TestUnknownQueueIsADiagnostic(t *testing.T) {
	_, ds := planFromService(load(t, "service: s\nfunctions:\n  f:\n    handler: h\n    events:\n      - sqs: {arn: !GetAtt Missing.Arn}\n"))
	if !ds.HasErrors() || ds[0].Path != "functions.f.events.0.sqs.arn" || ds[0].Pos.Line != 6 {
		t.Fatalf("%+v", ds)
	}
}

type echoInvoker struct {
	mu    sync.Mutex
	calls []string
}

func (e *echoInvoker) Invoke(ctx context.Context, fn string, p []byte) (*local.Result, error) {
	e.mu.Lock()
	e.calls = append(e.calls, fn)
	e.mu.Unlock()
	return &local.Result{Payload: []byte(`{"statusCode":200,"body":"pong"}`)}, nil
}

func TestSessionServesAndShutsDown(t *testing.T) {
	svc := load(t, svcYML)
	inv := &echoInvoker{}
	var log strings.Builder
	var mu sync.Mutex
	s, err := Start(context.Background(), svc, Options{HTTPPort: -1, LambdaPort: -1, AWSPort: -1, Invoker: inv, Log: writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return log.Write(p)
	})})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.HTTPURL + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "pong" {
		t.Fatalf("body %q", b)
	}
	// A queue's Ref resolves to its local URL for the functions' environment.
	p, _ := planFromService(svc)
	if u, ok := s.resolveEnv(p, svc.Root.Lookup("functions", "worker", "events", "0", "sqs", "arn")); !ok || u != "arn:aws:sqs:us-east-1:000000000000:jobs" {
		t.Errorf("GetAtt Arn -> %q %v", u, ok)
	}
	ref := config.NewMap(diag.Pos{})
	ref.Set("Ref", config.NewString("Jobs", diag.Pos{}))
	if u, _ := s.resolveEnv(p, ref); u != s.AWSURL+"/000000000000/jobs" {
		t.Errorf("Ref -> %q", u)
	}
	// SendMessage through the AWS endpoint reaches the worker.
	body := `{"QueueUrl":"` + s.AWSURL + `/000000000000/jobs","MessageBody":"x"}`
	req, _ := http.NewRequest("POST", s.AWSURL, strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("send: %v %v", err, resp)
	}
	var sent map[string]string
	json.NewDecoder(resp.Body).Decode(&sent)
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		inv.mu.Lock()
		got := strings.Join(inv.calls, ",")
		inv.mu.Unlock()
		if strings.Contains(got, "worker") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker never invoked: %s", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	eps := s.Endpoints()
	if len(eps) != 1 || eps[0].Method != "GET" || eps[0].URL != s.HTTPURL+"/ping" || eps[0].InvokeURL != s.LambdaURL+"/2015-03-31/functions/shop-dev-api/invocations" {
		t.Errorf("endpoints %+v", eps)
	}
	if q := s.Queues(); len(q) != 3 || q[0].Name != "Dead" {
		t.Errorf("queues %+v", q)
	}
	if _, err := http.Get(s.HTTPURL + "/ping"); err == nil {
		t.Error("server still answers after Shutdown")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestOfflineSettingsFillUnsetOptions(t *testing.T) {
	svc := load(t, "service: s\ncustom:\n  serverless-offline:\n    httpPort: 4100\n    lambdaPort: 4102\n    host: 0.0.0.0\n    noPrependStageInUrl: true\n")
	o := Options{LambdaPort: 5000}
	applyOfflineSettings(&o, svc.Root.Lookup("custom", "serverless-offline"), svc.Dir)
	if o.HTTPPort != 4100 || o.LambdaPort != 5000 || o.Host != "0.0.0.0" || !o.NoPrependStage || o.NoAuth {
		t.Errorf("%+v", o)
	}
}

// slowInvoker holds every invocation until release is closed.
type slowInvoker struct {
	started chan struct{}
	release chan struct{}
}

func (s *slowInvoker) Invoke(ctx context.Context, fn string, p []byte) (*local.Result, error) {
	s.started <- struct{}{}
	<-s.release
	return &local.Result{Payload: []byte(`{"statusCode":200,"body":"finished"}`)}, nil
}

func TestShutdownDrainsRequestsInFlight(t *testing.T) {
	inv := &slowInvoker{started: make(chan struct{}, 1), release: make(chan struct{})}
	s, err := Start(context.Background(), load(t, svcYML), Options{HTTPPort: -1, LambdaPort: -1, AWSPort: -1, Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		code int
		body string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(s.HTTPURL + "/ping")
		if err != nil {
			got <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- answer{code: resp.StatusCode, body: string(b)}
	}()
	<-inv.started
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		stopped <- s.Shutdown(ctx)
	}()
	// Once new connections are refused Shutdown is under way; it must
	// still be waiting for the request, which must not have ended.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := fresh.Get(s.HTTPURL + "/no-such-route") // answered without a function
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections after Shutdown began")
		}
	}
	select {
	case a := <-got:
		t.Fatalf("request ended before its function finished: %+v", a)
	case err := <-stopped:
		t.Fatalf("Shutdown returned with a request in flight: %v", err)
	default:
	}
	close(inv.release)
	a := <-got
	if a.err != nil || a.code != 200 || a.body != "finished" {
		t.Fatalf("drained request: %+v", a)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
