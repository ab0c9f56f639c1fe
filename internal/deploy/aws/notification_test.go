package aws

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// TestChangeSetWithoutNotificationArnsClearsTheStackTopics sends the deploy's
// change set through the real SDK client and reads the wire form: v3 always
// sends NotificationARNs (an empty list when provider.notificationArns is
// unset), and CloudFormation keeps a stack's topics when the parameter is
// missing, so a topic removed from the config must go out as an empty list.
func TestChangeSetWithoutNotificationArnsClearsTheStackTopics(t *testing.T) {
	var mu sync.Mutex
	var forms []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		mu.Lock()
		forms = append(forms, form)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		switch form.Get("Action") {
		case "DescribeChangeSet":
			io.WriteString(w, `<DescribeChangeSetResponse><DescribeChangeSetResult><Status>CREATE_COMPLETE</Status><Changes><member><Type>Resource</Type></member></Changes></DescribeChangeSetResult></DescribeChangeSetResponse>`)
		default:
			io.WriteString(w, "<"+form.Get("Action")+"Response><"+form.Get("Action")+"Result/></"+form.Get("Action")+"Response>")
		}
	}))
	defer srv.Close()
	client := cloudformation.New(cloudformation.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}, HTTPClient: srv.Client(),
	})
	for _, tc := range []struct {
		arns []string
		want string
	}{
		{nil, ""},
		{[]string{"arn:aws:sns:us-east-1:123456789012:deploys"}, "arn:aws:sns:us-east-1:123456789012:deploys"},
	} {
		forms = nil
		b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
		b.NotificationARNs = tc.arns
		if _, err := runChangeSet(context.Background(), client, b, "UPDATE", &cloudformation.CreateChangeSetInput{TemplateURL: aws.String("https://s3.amazonaws.com/b/t.json")}); err != nil {
			t.Fatal(err)
		}
		var create url.Values
		for _, f := range forms {
			if f.Get("Action") == "CreateChangeSet" {
				create = f
			}
		}
		if create == nil {
			t.Fatalf("no CreateChangeSet request among %v", forms)
		}
		var sent []string
		for k, v := range create {
			if strings.HasPrefix(k, "NotificationARNs") {
				sent = append(sent, k+"="+strings.Join(v, ","))
			}
		}
		if len(sent) != 1 || !strings.HasSuffix(sent[0], "="+tc.want) {
			t.Errorf("notificationArns %v sent as %v, want one NotificationARNs parameter %q", tc.arns, sent, tc.want)
		}
	}
}
