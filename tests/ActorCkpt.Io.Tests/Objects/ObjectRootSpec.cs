namespace ActorCkpt.Io.Tests;

/// <summary>Object-store roots by URI (<see cref="ObjectRoot"/>): what parses, and one line for what does not.</summary>
public class ObjectRootSpec
{
    [Theory]
    [InlineData("az://ckpt", "Azure", "ckpt", "", "az://ckpt")]
    [InlineData("az://ckpt/run-1/", "Azure", "ckpt", "run-1/", "az://ckpt/run-1")]
    [InlineData("S3://my.bucket/a/b", "S3", "my.bucket", "a/b/", "s3://my.bucket/a/b")]
    [InlineData("s3://1234/x", "S3", "1234", "x/", "s3://1234/x")]
    public void A_root_should_parse_into_service_container_and_prefix(string uri, string service, string container, string prefix, string canonical)
    {
        var root = ObjectRoot.Parse(uri);
        Assert.Equal((service, container, prefix), (root.Service.ToString(), root.Container, root.Prefix));
        Assert.Equal(canonical, root.ToString());
        Assert.Equal(prefix + "step-1/x", root.Key("step-1/x"));
        Assert.True(ObjectRoot.IsObjectRoot(uri));
    }

    [Theory]
    [InlineData("gs://bucket", "is not an object-store root")]
    [InlineData("az://Bad_Name", "is not an Azure container name")]
    [InlineData("az://a--b", "is not an Azure container name")]
    [InlineData("s3://ab", "is not an S3 bucket name")]
    [InlineData("s3://bucket/a//b", "empty, '.', '..'")]
    [InlineData("s3://bucket/a/../b", "empty, '.', '..'")]
    [InlineData("s3://192.168.5.4/run", "is not an S3 bucket name")]
    [InlineData("s3://my..bucket", "is not an S3 bucket name")]
    public void A_bad_root_should_be_one_line_naming_what_is_wrong(string uri, string why)
    {
        var e = Assert.Throws<ActorCkptException>(() => ObjectRoot.Parse(uri));
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("az://ckpt/run-1?sv=2024-05-04&sig=c2VjcmV0", "az://ckpt/run-1…")]
    [InlineData("s3://bucket?X-Amz-Signature=abc", "s3://bucket…")]
    public void A_root_with_a_query_should_be_refused_without_printing_the_query(string uri, string shown)
    {
        // Before, the query became part of the prefix: in every key, and in every line that named the root.
        var e = Assert.Throws<ActorCkptException>(() => ObjectRoot.Parse(uri));
        Assert.Equal($"'{shown}': an object-store root takes no query ('?…'); credentials go in actorckpt.object-store or the environment (docs/object-storage.md)", e.Message);
        // Keys may hold '?' and '#': a prefix with them and no name=value after a '?' is a prefix.
        Assert.Equal("run?1#2/", ObjectRoot.Parse("s3://bucket/run?1#2").Prefix);
    }

    [Theory]
    [InlineData("s3://ckpt//run-1/", "s3://ckpt/run-1", true)]
    [InlineData("S3://ckpt/run-1", "s3://ckpt/run-1/", true)]
    [InlineData("s3://ckpt/RUN-1", "s3://ckpt/run-1", false)]
    [InlineData("az://ckpt/run-1", "s3://ckpt/run-1", false)]
    [InlineData("s3://ckpt/run-1/tier", "s3://ckpt/run-1", false)]
    [InlineData("s3://ckpt/a//b", "s3://ckpt/a//b", false)]
    public void An_object_tier_root_should_be_refused_when_it_names_the_checkpoint_root_however_spelt(string tier, string root, bool same)
    {
        // Before, URIs were compared as text, case aside: the first was allowed at start (each upload then warned),
        // the third refused, though keys are case-sensitive. A malformed one is refused where it is opened.
        var problem = ObjectTierRoot.Problem(tier, root);
        Assert.Equal(same ? $"actorckpt.tiers.object.root = '{tier}' is the checkpoint root itself: the tier would take the root's steps for its uploads; give it a directory of its own" : null, problem);
    }

    [Fact]
    public void A_directory_should_not_be_taken_for_an_object_root()
    {
        Assert.False(ObjectRoot.IsObjectRoot("/tmp/az://x"));
        Assert.False(ObjectRoot.IsObjectRoot("ckpt"));
        Assert.True(BlobStores.IsDirectory("ckpt"));
    }

    [Fact]
    public void The_default_state_directory_should_differ_per_root_uri_and_name_the_container()
    {
        var a = ObjectRootState.Name(ObjectRoot.Parse("s3://bucket/run-1"));
        var b = ObjectRootState.Name(ObjectRoot.Parse("s3://bucket/run-2"));
        Assert.NotEqual(a, b);
        Assert.StartsWith("s3-bucket-", a);
        Assert.Equal(a, ObjectRootState.Name(ObjectRoot.Parse("s3://bucket/run-1/")));
    }

    [Fact]
    public void Credentials_should_come_from_the_environment_unless_configured()
    {
        var env = new System.Collections.Hashtable
        {
            ["AWS_ACCESS_KEY_ID"] = "id", ["AWS_SECRET_ACCESS_KEY"] = "secret", ["AWS_REGION"] = "eu-west-1",
            ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9000", ["AZURE_STORAGE_CONNECTION_STRING"] = "UseDevelopmentStorage=true",
        };
        var s3 = new ObjectStoreOptions { Region = "us-east-2" }.WithEnvironment(ObjectService.S3, env);
        Assert.Equal(("id", "secret", "us-east-2", "http://127.0.0.1:9000"), (s3.AccessKeyId, s3.SecretAccessKey, s3.Region, s3.Endpoint));
        Assert.Null(s3.AzureConnectionString);
        var azure = new ObjectStoreOptions().WithEnvironment(ObjectService.Azure, env);
        Assert.Equal("UseDevelopmentStorage=true", azure.AzureConnectionString);
        Assert.Null(azure.Endpoint);
    }

    [Theory]
    [InlineData("AWS_ENDPOINT_URL", "localhost:9000")]
    [InlineData("AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1:9000")]
    public void An_endpoint_from_the_environment_that_is_no_http_url_should_be_refused_naming_the_variable(string name, string value)
    {
        // Before: the SDK's "Custom endpoint `localhost:9000` was not a valid URI" at the first request.
        var e = Assert.Throws<ActorCkptException>(() => new ObjectStoreOptions().WithEnvironment(ObjectService.S3, new System.Collections.Hashtable { [name] = value }));
        Assert.Equal($"{name} = '{value}' (environment): must be an absolute http or https URL (http://127.0.0.1:9000, https://s3.example.com)", e.Message);
        // A configured endpoint wins, and the variable is not looked at.
        Assert.Equal("http://127.0.0.1:1", new ObjectStoreOptions { Endpoint = "http://127.0.0.1:1" }.WithEnvironment(ObjectService.S3, new System.Collections.Hashtable { [name] = value }).Endpoint);
    }
}
