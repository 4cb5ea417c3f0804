namespace UniCLift.Tests.Torch;

using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Training;
using UniCLift.Tests.IO;
using UniCLift.Tests.Training;
using Xunit.Abstractions;

/// <summary>
/// TorchSharp's Scalar wraps a native object that only its finaliser frees, and TorchSharp's calls read the handle
/// without keeping the Scalar alive: a temporary Scalar (an implicit number-to-Scalar conversion, or one TorchSharp
/// makes inside a call such as add(t) = add(t, alpha: 1)) can be finalised by a GC during the native call that uses it
/// ("Unknown scalar type", "INTERNAL ASSERT FAILED at Scalar.h"; a training run lost in about 1 of 4). The root fix is
/// that the product's code makes no temporary Scalar: constants are rooted in <see cref="Scalars"/>, per-step values
/// are disposed with <c>using</c>. These tests hold that: one reads the IL of the product's assemblies for every call
/// that makes one (computed from TorchSharp's own IL, so a TorchSharp update is checked too), the other runs the
/// losses and training steps while another thread collects garbage and runs finalisers without pause.
/// </summary>
public sealed class ScalarSafetyTests(ITestOutputHelper output)
{
    /// <summary>Reference code (never in a training step) that may keep TorchSharp's shorthand: it builds graphs of
    /// small tensors once per check, and a crash there is a failed check, not a lost run.</summary>
    private static readonly HashSet<string> ReferenceTypes = ["ShEval", "Projection", "ReferenceRasterizer"];

    [Fact]
    public void The_product_never_makes_a_temporary_torch_scalar()
    {
        var torchSharp = typeof(torch).Assembly.Location;
        var hazards = HazardousMethods(torchSharp);
        output.WriteLine($"{hazards.Count} TorchSharp methods make a Scalar from a number inside them, e.g. {string.Join(", ", hazards.Order().Take(8))}");
        Assert.Contains(hazards, h => h.StartsWith("Tensor.add(Tensor)", StringComparison.Ordinal)); // the scan sees what it must

        var offenders = new List<string>();
        foreach (var assembly in new[] { typeof(Scalars).Assembly, typeof(UniCLift.Grains.SceneGrain).Assembly })
            offenders.AddRange(CallsMakingScalars(assembly.Location, hazards));
        foreach (var o in offenders) output.WriteLine(o);
        Assert.True(offenders.Count == 0, $"{offenders.Count} calls make a temporary Scalar (use Scalars.Of / Scalars.One, or a `using` Scalar):\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void Losses_and_training_steps_survive_constant_garbage_collection()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, corruption: Compute.Synthetic.CorruptionLevel.M2F);
        var options = new TrainingOptions
        {
            Iterations = 60, DensifyFromFraction = 0.1, DensifyInterval = 10, OpacityResetFraction = 0.5, OpacityResetMinRounds = 0, SmoothSamples = 256,
            SegmentationLossesFromFraction = 0.3,
        };
        using var stop = new CancellationTokenSource();
        long collections = 0;
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Interlocked.Increment(ref collections);
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            using var trainer = SceneTrainer.Create(scene, options);
            for (int i = 0; i < options.Iterations; i++) trainer.Step();
            Assert.Equal(options.Iterations, trainer.CurrentStep);
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
        output.WriteLine($"{options.Iterations} steps with {collections} full collections running beside them");
        Assert.True(collections > options.Iterations, $"only {collections} collections ran beside {options.Iterations} steps");
    }

    // ---- TorchSharp's IL: which methods make a Scalar from a number ----

    private static HashSet<string> HazardousMethods(string torchSharpPath)
    {
        using var pe = new PEReader(File.OpenRead(torchSharpPath));
        var md = pe.GetMetadataReader();
        var makers = new HashSet<int>();
        foreach (var h in md.MethodDefinitions)
        {
            var m = md.GetMethodDefinition(h);
            string type = md.GetString(md.GetTypeDefinition(m.GetDeclaringType()).Name), name = md.GetString(m.Name);
            if ((type == "Scalar" && name == "op_Implicit") || (type == "ScalarExtensionMethods" && name.StartsWith("To", StringComparison.Ordinal) && name.EndsWith("Scalar", StringComparison.Ordinal)))
                makers.Add(MetadataTokens.GetToken(h));
        }
        var hazards = new HashSet<string>(StringComparer.Ordinal);
        foreach (var h in md.MethodDefinitions)
        {
            var m = md.GetMethodDefinition(h);
            if (m.RelativeVirtualAddress == 0 || makers.Contains(MetadataTokens.GetToken(h))) continue;
            foreach (var token in CallTokens(pe.GetMethodBody(m.RelativeVirtualAddress).GetILBytes() ?? []))
                if (makers.Contains(token)) { hazards.Add(Describe(md, h)); break; }
        }
        return hazards;
    }

    // ---- the product's IL: every call to a maker or a hazardous TorchSharp method ----

    private static IEnumerable<string> CallsMakingScalars(string assemblyPath, HashSet<string> hazards)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var found = new List<string>();
        foreach (var h in md.MethodDefinitions)
        {
            var m = md.GetMethodDefinition(h);
            if (m.RelativeVirtualAddress == 0) continue;
            var owner = OuterType(md, m.GetDeclaringType());
            if (owner == "Scalars" || ReferenceTypes.Contains(owner)) continue;
            foreach (var token in CallTokens(pe.GetMethodBody(m.RelativeVirtualAddress).GetILBytes() ?? []))
            {
                var callee = Callee(md, token);
                if (callee is null) continue;
                // Explicit ToScalar() is allowed: the code owns that Scalar and disposes it (`using`).
                if (callee.StartsWith("Scalar.op_Implicit", StringComparison.Ordinal) || hazards.Contains(callee))
                    found.Add($"{owner}.{md.GetString(m.Name)} calls {callee}");
            }
        }
        return found.Distinct();
    }

    private static string OuterType(MetadataReader md, TypeDefinitionHandle h)
    {
        var t = md.GetTypeDefinition(h);
        while (t.GetDeclaringType() is { IsNil: false } outer) t = md.GetTypeDefinition(outer);
        return md.GetString(t.Name);
    }

    /// <summary>"Type.name(param types)" of a call target that is a TorchSharp member, else null.</summary>
    private static string? Callee(MetadataReader md, int token)
    {
        var handle = MetadataTokens.EntityHandle(token);
        if (handle.Kind == HandleKind.MethodSpecification) handle = md.GetMethodSpecification((MethodSpecificationHandle)handle).Method;
        if (handle.Kind != HandleKind.MemberReference) return null;
        var r = md.GetMemberReference((MemberReferenceHandle)handle);
        if (r.GetKind() != MemberReferenceKind.Method) return null;
        string? type = r.Parent.Kind switch
        {
            HandleKind.TypeReference => TypeRefName(md, (TypeReferenceHandle)r.Parent, torchOnly: true),
            _ => null,
        };
        if (type is null) return null;
        var sig = r.DecodeMethodSignature(new Names(md), null);
        return $"{type}.{md.GetString(r.Name)}({string.Join(",", sig.ParameterTypes)})";
    }

    private static string Describe(MetadataReader md, MethodDefinitionHandle h)
    {
        var m = md.GetMethodDefinition(h);
        var sig = m.DecodeSignature(new Names(md), null);
        return $"{md.GetString(md.GetTypeDefinition(m.GetDeclaringType()).Name)}.{md.GetString(m.Name)}({string.Join(",", sig.ParameterTypes)})";
    }

    private static string? TypeRefName(MetadataReader md, TypeReferenceHandle h, bool torchOnly)
    {
        var t = md.GetTypeReference(h);
        // Nested TorchSharp types (torch.Tensor) resolve through their declaring type; the root names the assembly.
        var scope = t.ResolutionScope;
        while (scope.Kind == HandleKind.TypeReference) scope = md.GetTypeReference((TypeReferenceHandle)scope).ResolutionScope;
        if (torchOnly && (scope.Kind != HandleKind.AssemblyReference || md.GetString(md.GetAssemblyReference((AssemblyReferenceHandle)scope).Name) != "TorchSharp")) return null;
        return md.GetString(t.Name);
    }

    /// <summary>Type names without namespaces or nesting, the same whether read from a definition or a reference.</summary>
    private sealed class Names(MetadataReader md) : ISignatureTypeProvider<string, object?>
    {
        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode.ToString();
        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => reader.GetString(reader.GetTypeDefinition(handle).Name);
        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => reader.GetString(reader.GetTypeReference(handle).Name);
        public string GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);
        public string GetSZArrayType(string elementType) => elementType + "[]";
        public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[" + new string(',', shape.Rank - 1) + "]";
        public string GetByReferenceType(string elementType) => elementType + "&";
        public string GetPointerType(string elementType) => elementType + "*";
        public string GetPinnedType(string elementType) => elementType;
        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => $"{genericType}<{string.Join(",", typeArguments)}>";
        public string GetGenericMethodParameter(object? context, int index) => "!!" + index;
        public string GetGenericTypeParameter(object? context, int index) => "!" + index;
        public string GetFunctionPointerType(MethodSignature<string> signature) => "fnptr";
        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;
        public MetadataReader Reader => md;
    }

    // ---- an IL walker: the method tokens of call, callvirt, newobj, ldftn ----

    private static readonly Dictionary<short, OpCode> OpCodeTable = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    private static IEnumerable<int> CallTokens(byte[] il)
    {
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var op = OpCodeTable[value];
            if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj || op == OpCodes.Ldftn || op == OpCodes.Ldvirtftn)
                yield return BitConverter.ToInt32(il, i);
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
    }
}
