// Package awsapi serves the slice of the SQS, SNS and EventBridge APIs that
// functions' own AWS SDKs (Go v2, JS v3, boto3) and the AWS CLI use against
// the local queues, topics and buses: SQS in both its JSON and query
// protocols, SNS in the query protocol, EventBridge PutEvents in JSON. One
// port serves all three; requests are told apart by X-Amz-Target, the
// Action parameter and the SigV4 credential scope.
package awsapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/nimbusfw/nimbus/internal/local/bus"
	"github.com/nimbusfw/nimbus/internal/local/queue"
	"github.com/nimbusfw/nimbus/internal/local/topic"
)

// Server is an http.Handler for the local AWS APIs.
type Server struct {
	Queues *queue.Store
	Topics *topic.Hub
	Bus    *bus.Bus
	Region string
	// BaseURL is how clients reach this server (http://127.0.0.1:port),
	// used in queue URLs.
	BaseURL string
	// OnCreateQueue lets the owner react to queues created by API calls.
	Log func(line string)
}

// QueueURL is a queue's local URL.
func (s *Server) QueueURL(name string) string {
	return strings.TrimRight(s.BaseURL, "/") + "/" + queue.Account + "/" + name
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "AmazonSQS."):
		s.sqsJSON(r.Context(), w, strings.TrimPrefix(target, "AmazonSQS."), body)
		return
	case strings.HasPrefix(target, "AWSEvents."):
		s.events(r.Context(), w, strings.TrimPrefix(target, "AWSEvents."), body)
		return
	}
	form, _ := url.ParseQuery(string(body))
	for k, v := range r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	action := form.Get("Action")
	if action == "" {
		writeJSONError(w, 400, "UnknownOperationException", "unknown operation: no X-Amz-Target header or Action parameter")
		return
	}
	if service(r) == "sns" || snsActions[action] {
		s.sns(r.Context(), w, action, form)
		return
	}
	if form.Get("QueueUrl") == "" && strings.Count(r.URL.Path, "/") >= 2 && r.URL.Path != "/" {
		form.Set("QueueUrl", s.BaseURL+r.URL.Path)
	}
	s.sqsQuery(r.Context(), w, action, form)
}

var snsActions = map[string]bool{"Publish": true, "PublishBatch": true, "CreateTopic": true, "ListTopics": true, "Subscribe": true, "ListSubscriptions": true, "ListSubscriptionsByTopic": true}

// service reads the service from the SigV4 credential scope
// (Credential=AKID/20240101/us-east-1/sqs/aws4_request).
func service(r *http.Request) string {
	a := r.Header.Get("Authorization")
	i := strings.Index(a, "Credential=")
	if i < 0 {
		return ""
	}
	parts := strings.Split(strings.SplitN(a[i+len("Credential="):], ",", 2)[0], "/")
	if len(parts) >= 4 {
		return parts[3]
	}
	return ""
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(200)
	w.Write(b)
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	w.WriteHeader(status)
	w.Write(b)
}
