'use strict';

// client builds an AWS SDK client for the handler's region. AWS_ENDPOINT_URL
// points every client at one endpoint (a local AWS emulator in tests), where
// S3 then needs path-style addressing.
function client(Ctor, region) {
  const options = { region, maxAttempts: 5 };
  if (process.env.AWS_ENDPOINT_URL) {
    options.endpoint = process.env.AWS_ENDPOINT_URL;
    options.forcePathStyle = true;
  }
  return new Ctor(options);
}

module.exports = { client };
