using Xunit;

namespace XtcpEpoll.Tests.Host;

/// <summary>
/// --kafka-config / --kafka-config-file / XTCP_KAFKA_CONFIG, secrets read from files, and the http(s)
/// options: precedence, refusals (exit 2, one line saying why and where), masking in --print-config.
/// </summary>
public sealed class SecuredOptionsTests : IDisposable
{
    private const string Kafka = "kafka:broker1.example:9093";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("xt-host-secured-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string WriteFile(string name, string text, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    [Fact]
    public void Defaults_then_file_then_flags_and_print_config_shows_the_effective_properties()
    {
        var file = WriteFile("kafka.properties", """
            # TLS to the brokers
            security.protocol = SSL
            linger.ms=20

            batch.num.messages=500
            """);

        var result = CliRunner.Run("--dest", Kafka, "--kafka-config-file", file, "--kafka-config", "linger.ms=50", "--print-config");

        Assert.Equal(0, result.ExitCode);
        var config = result.Config();
        Assert.Equal("SSL", config["kafka.security.protocol"]);          // file
        Assert.Equal("500", config["kafka.batch.num.messages"]);          // file
        Assert.Equal("50", config["kafka.linger.ms"]);                    // flag beats file beats our default (5)
        Assert.Equal("all", config["kafka.acks"]);                        // our defaults stay
        Assert.Equal("true", config["kafka.enable.idempotence"]);
        Assert.Equal("0", config["kafka.message.timeout.ms"]);
        Assert.Equal("broker1.example:9093", config["kafka.bootstrap.servers"]);
        Assert.Equal(file, config["kafka-config-file"]);
    }

    [Fact]
    public void Environment_pairs_are_separated_by_semicolons_and_flags_replace_them()
    {
        var env = new Dictionary<string, string> { ["XTCP_KAFKA_CONFIG"] = "linger.ms=7; batch.num.messages=300", ["XTCP_DEST"] = Kafka };

        var fromEnv = CliRunner.Run(env, "--print-config").Config();
        var fromFlag = CliRunner.Run(env, "--kafka-config", "linger.ms=9", "--print-config").Config();

        Assert.Equal("7", fromEnv["kafka.linger.ms"]);
        Assert.Equal("300", fromEnv["kafka.batch.num.messages"]);
        Assert.Equal("9", fromFlag["kafka.linger.ms"]);
        Assert.False(fromFlag.ContainsKey("kafka.batch.num.messages")); // the flag replaced the variable as a whole
    }

    [Theory]
    [InlineData("enable.idempotence=false", "enable.idempotence must stay true")]
    [InlineData("acks=1", "acks must stay all")]
    [InlineData("request.required.acks=0", "request.required.acks must stay all")]
    [InlineData("message.timeout.ms=30000", "message.timeout.ms is fixed at 0")]
    [InlineData("delivery.timeout.ms=30000", "delivery.timeout.ms is fixed at 0")]
    [InlineData("bootstrap.servers=other:9092", "set by --dest")]
    [InlineData("compression.type=gzip", "set by --kafka-compression")]
    [InlineData("message.max.bytes=20000", "a larger envelope would be refused and dropped")]
    public void Properties_that_break_the_delivery_guarantee_are_refused_saying_why(string pair, string why)
    {
        var result = CliRunner.Run("--dest", Kafka, "--kafka-config", pair, "--print-config");

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith($"xtcp-epoll: invalid --kafka-config value \"{pair}\": ", line);
        Assert.Contains(why, line);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void Unknown_keys_and_bad_values_are_refused_with_librdkafkas_own_message()
    {
        var unknown = CliRunner.Run("--dest", Kafka, "--kafka-config", "sasl.pasword=x", "--print-config");
        var badValue = CliRunner.Run("--dest", Kafka, "--kafka-config", "security.protocol=TLS", "--print-config");

        Assert.Equal(2, unknown.ExitCode);
        Assert.Equal("xtcp-epoll: invalid --kafka-config value \"sasl.pasword=******\": No such configuration property: \"sasl.pasword\"", Assert.Single(unknown.StderrLines));
        Assert.Equal(2, badValue.ExitCode);
        Assert.Contains("Invalid value \"TLS\" for configuration property \"security.protocol\"", Assert.Single(badValue.StderrLines));
    }

    [Fact]
    public void A_bad_line_of_the_properties_file_is_named_by_file_and_line()
    {
        var file = WriteFile("kafka.properties", "security.protocol=SSL\n# fine\nacks=1\n");
        var noEquals = WriteFile("broken.properties", "security.protocol SSL\n");

        var refused = CliRunner.Run("--dest", Kafka, "--kafka-config-file", file, "--print-config");
        var malformed = CliRunner.Run("--dest", Kafka, "--kafka-config-file", noEquals, "--print-config");
        var missing = CliRunner.Run("--dest", Kafka, "--kafka-config-file", "/nonexistent/kafka.properties", "--print-config");

        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith($"xtcp-epoll: invalid --kafka-config-file {file} line 3 \"acks=1\": acks must stay all", Assert.Single(refused.StderrLines));
        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("line 1 \"security.protocol SSL\": expected KEY=VALUE", Assert.Single(malformed.StderrLines));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("/nonexistent/kafka.properties", Assert.Single(missing.StderrLines));
    }

    [Fact]
    public void Print_config_masks_every_secret()
    {
        var result = CliRunner.Run("--dest", Kafka,
            "--kafka-config", "security.protocol=SASL_SSL", "--kafka-config", "sasl.mechanism=SCRAM-SHA-512",
            "--kafka-config", "sasl.username=xtcp", "--kafka-config", "sasl.password=hunter2-kafka",
            "--kafka-config", "ssl.key.password=hunter2-key",
            "--kafka-config", "sasl.oauthbearer.client.secret=hunter2-oauth",
            "--print-config");

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("hunter2", result.Stdout);
        var config = result.Config();
        Assert.Equal("******", config["kafka.sasl.password"]);
        Assert.Equal("******", config["kafka.ssl.key.password"]);
        Assert.Equal("******", config["kafka.sasl.oauthbearer.client.secret"]);
        Assert.Equal("xtcp", config["kafka.sasl.username"]);
        Assert.Contains("sasl.password=******", config["kafka-config"]);
    }

    [Fact]
    public void At_path_values_are_read_from_files_and_a_readable_secret_file_is_warned_about()
    {
        var privateFile = WriteFile("kafka-password", "s3cret-kafka\n");
        var sharedFile = WriteFile("http-auth", "Bearer s3cret-token\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var kafka = CliRunner.Run("--dest", Kafka, "--kafka-config", "sasl.password=@" + privateFile, "--print-config");
        var http = CliRunner.Run("--dest", "https://ingest.example/v1", "--http-header", "Authorization=@" + sharedFile, "--print-config");

        Assert.Equal(0, kafka.ExitCode);
        Assert.Equal($"****** (from {privateFile})", kafka.Config()["kafka.sasl.password"]);
        Assert.Equal("", kafka.Stderr); // mode 0600: no warning
        Assert.Equal(0, http.ExitCode);
        Assert.Equal($"Authorization=@{sharedFile}", http.Config()["http-header"]);
        Assert.DoesNotContain("s3cret", http.Stdout + http.Stderr);
        var warning = Assert.Single(http.StderrLines);
        Assert.Equal($"xtcp-epoll: warning: secret file {sharedFile} is readable by every user (mode 0644): chmod 600 it, or hand it over with systemd LoadCredential=", warning);
    }

    [Fact]
    public void Systemd_credentials_are_found_through_CREDENTIALS_DIRECTORY()
    {
        WriteFile("kafka-password", "from-systemd");
        var env = new Dictionary<string, string> { ["CREDENTIALS_DIRECTORY"] = _dir.FullName };

        var found = CliRunner.Run(env, "--dest", Kafka, "--kafka-config", "sasl.password=@${CREDENTIALS_DIRECTORY}/kafka-password", "--print-config");
        var unset = CliRunner.Run("--dest", Kafka, "--kafka-config", "sasl.password=@${CREDENTIALS_DIRECTORY}/kafka-password", "--print-config");

        Assert.Equal(0, found.ExitCode);
        Assert.Equal($"****** (from {_dir.FullName}/kafka-password)", found.Config()["kafka.sasl.password"]);
        Assert.Equal(2, unset.ExitCode);
        Assert.Contains("$CREDENTIALS_DIRECTORY is not set", Assert.Single(unset.StderrLines));
    }

    [Fact]
    public void A_missing_or_empty_secret_file_stops_the_start_naming_it()
    {
        var empty = WriteFile("empty", "");

        var missing = CliRunner.Run("--dest", Kafka, "--kafka-config", "sasl.password=@/nonexistent/secret", "--print-config");
        var blank = CliRunner.Run("--dest", "https://ingest.example/", "--http-header", "Authorization=@" + empty, "--print-config");

        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("cannot read secret file /nonexistent/secret", Assert.Single(missing.StderrLines));
        Assert.Equal(2, blank.ExitCode);
        Assert.Contains($"secret file {empty} is empty", Assert.Single(blank.StderrLines));
    }

    [Theory]
    [InlineData("--kafka-config", "linger.ms=5", "applies only to kafka: destinations")]
    [InlineData("--http-header", "X-Tenant=a", "applies only to http:// and https:// destinations")]
    [InlineData("--http-ca-file", "/etc/ssl/certs/ca-certificates.crt", "applies only to https:// destinations")]
    public void Options_that_would_do_nothing_with_the_destination_are_refused(string flag, string value, string why)
    {
        var result = CliRunner.Run("--dest", "stdout", flag, value, "--print-config");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(why, Assert.Single(result.StderrLines));
    }

    [Theory]
    [InlineData("Content-Type=text/plain", "is set from the payload and --marshal")]
    [InlineData("Bad Name=x", "is not a valid header name")]
    [InlineData("=x", "expected NAME=VALUE")]
    [InlineData("Host=other.example", "managed by the HTTP client")]
    public void Bad_headers_are_refused(string header, string why)
    {
        var result = CliRunner.Run("--dest", "https://ingest.example/", "--http-header", header, "--print-config");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(why, Assert.Single(result.StderrLines));
    }

    [Fact]
    public void Https_files_are_checked_before_start()
    {
        var notPem = WriteFile("ca.pem", "not a certificate\n");

        var badCa = CliRunner.Run("--dest", "https://ingest.example/", "--http-ca-file", notPem, "--print-config");
        var certWithoutKey = CliRunner.Run("--dest", "https://ingest.example/", "--http-client-cert", notPem, "--print-config");
        var missingCa = CliRunner.Run("--dest", "https://ingest.example/", "--http-ca-file", "/nonexistent/ca.pem", "--print-config");

        Assert.Equal(2, badCa.ExitCode);
        Assert.Contains($"invalid --http-ca-file value \"{notPem}\": no PEM certificate", Assert.Single(badCa.StderrLines));
        Assert.Equal(2, certWithoutKey.ExitCode);
        Assert.Contains("needs --http-client-key", Assert.Single(certWithoutKey.StderrLines));
        Assert.Equal(2, missingCa.ExitCode);
        Assert.Contains("/nonexistent/ca.pem", Assert.Single(missingCa.StderrLines));
    }

    [Fact]
    public void Http_headers_are_repeatable_and_secret_ones_masked()
    {
        var result = CliRunner.Run("--dest", "https://ingest.example/", "--http-header", "X-Tenant=blue", "--http-header", "Authorization=Bearer abc", "--print-config");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("X-Tenant=blue;Authorization=******", result.Config()["http-header"]);
    }
}
