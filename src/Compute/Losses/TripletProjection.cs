namespace UniCLift.Compute.Losses;

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

/// <summary>
/// The learnable linear layer W (D -> D, no bias: a bias cancels in every difference the loss takes)
/// that the triplet loss applies to Vh. Initialised to the identity, so at switch-on (15k iterations)
/// the loss starts as the plain embedding triplet loss and W only departs from it as far as Adam moves it;
/// a random init would hand the freshly converged embedding space a random metric.
/// With <c>learnable: false</c> W is a fixed identity (the "triplet without W" ablation) and has no parameters.
/// </summary>
public sealed class TripletProjection : nn.Module<Tensor, Tensor>
{
    private readonly Parameter? weight;

    public TripletProjection(int dimensions, bool learnable = true, Device? device = null) : base(nameof(TripletProjection))
    {
        if (dimensions <= 0) throw new ArgumentException($"TripletProjection: dimensions must be > 0, got {dimensions}.", nameof(dimensions));
        Dimensions = dimensions;
        Learnable = learnable;
        if (learnable)
        {
            // A module outlives the step that builds it: keep W out of any enclosing dispose scope.
            var eye = torch.eye(dimensions, dtype: float32, device: device).DetachFromDisposeScope();
            weight = new Parameter(eye, requires_grad: true); // [D,D], rows = outputs
            weight.DetachFromDisposeScope();
        }
        RegisterComponents();
    }

    public int Dimensions { get; }
    public bool Learnable { get; }

    /// <summary>W [D,D] (out, in), or null for the fixed identity.</summary>
    public Parameter? Weight => weight;

    /// <summary>x [..., D] -> x W^T [..., D].</summary>
    public override Tensor forward(Tensor x) => weight is null ? x.alias() : x.matmul(weight.t());
}
