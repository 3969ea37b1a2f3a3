using k8s.Models;

namespace CausalKv.Tests.Deployment;

/// <summary>
/// The environment Kubernetes gives a container of a rendered pod template: its <c>env</c> and <c>envFrom</c>, with
/// ConfigMaps taken from the rendered objects, Secrets from the caller, and the downward API's fields of the pod.
/// What it cannot resolve is an error, so a process started with it gets exactly what a pod would.
/// </summary>
public static class PodEnvironment
{
    /// <param name="podName">the pod's name, e.g. <c>kv-2</c> of StatefulSet <c>kv</c></param>
    /// <param name="labels">the pod's labels (a StatefulSet's pods also carry <c>apps.kubernetes.io/pod-index</c>)</param>
    /// <param name="secrets">Secret name, then key, to value: the values an operator created outside the deployment</param>
    public static Dictionary<string, string> For(
        V1Container container, string podName, IReadOnlyDictionary<string, string> labels, RenderedDeployment deployment,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> secrets, string podNamespace = "default")
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in container.EnvFrom ?? [])
        {
            if (source.ConfigMapRef is { } map)
                foreach (var (k, v) in ConfigMap(deployment, map.Name)) env[(source.Prefix ?? "") + k] = v;
            else if (source.SecretRef is { } secret)
                foreach (var (k, v) in Secret(secrets, secret.Name)) env[(source.Prefix ?? "") + k] = v;
            else throw new NotSupportedException($"envFrom of {container.Name} names neither a ConfigMap nor a Secret");
        }
        foreach (var variable in container.Env ?? [])
        {
            if (variable.ValueFrom is null) { env[variable.Name] = variable.Value ?? ""; continue; }
            var from = variable.ValueFrom;
            env[variable.Name] = from switch
            {
                { FieldRef: { } field } => Field(field.FieldPath, podName, labels, podNamespace),
                { ConfigMapKeyRef: { } key } => ConfigMap(deployment, key.Name).GetValueOrDefault(key.Key)
                    ?? throw new KeyNotFoundException($"ConfigMap {key.Name} has no key {key.Key} ({variable.Name})"),
                { SecretKeyRef: { } key } => Secret(secrets, key.Name).GetValueOrDefault(key.Key)
                    ?? throw new KeyNotFoundException($"Secret {key.Name} has no key {key.Key} ({variable.Name})"),
                _ => throw new NotSupportedException($"{variable.Name} of {container.Name} comes from a source this harness does not give"),
            };
        }
        return env;
    }

    private static string Field(string path, string podName, IReadOnlyDictionary<string, string> labels, string podNamespace)
    {
        const string label = "metadata.labels['";
        if (path == "metadata.name") return podName;
        if (path == "metadata.namespace") return podNamespace;
        if (path.StartsWith(label, StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal))
        {
            var name = path[label.Length..^2];
            return labels.GetValueOrDefault(name) ?? throw new KeyNotFoundException($"the pod has no label {name}");
        }
        throw new NotSupportedException($"downward API field {path}");
    }

    private static IReadOnlyDictionary<string, string> ConfigMap(RenderedDeployment deployment, string name) =>
        (IReadOnlyDictionary<string, string>?)deployment.Single<V1ConfigMap>(name).Data ?? new Dictionary<string, string>();

    private static IReadOnlyDictionary<string, string> Secret(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> secrets, string name) =>
        secrets.GetValueOrDefault(name) ?? throw new KeyNotFoundException($"no Secret {name} was created");

    /// <summary>The labels a StatefulSet's controller puts on its pod number <paramref name="ordinal"/>, besides the template's.</summary>
    public static Dictionary<string, string> StatefulSetPodLabels(V1StatefulSet set, int ordinal)
    {
        var labels = new Dictionary<string, string>(set.Spec.Template.Metadata.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["apps.kubernetes.io/pod-index"] = ordinal.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["statefulset.kubernetes.io/pod-name"] = $"{set.Metadata.Name}-{ordinal}",
        };
        return labels;
    }
}
