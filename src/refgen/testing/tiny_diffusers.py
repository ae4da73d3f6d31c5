"""Tiny random-weight diffusers pipelines built fully offline, saved in diffusers format.

diffusers' own tests fetch a tokenizer (and Wan's text-encoder config) from a hub; here everything
is built in code: a word-level ``tokenizers`` tokenizer wrapped in a
``PreTrainedTokenizerFast``, tiny configs for the text encoder, VAE and transformer. The folders
written by :func:`save_tiny_wan_vace` / :func:`save_tiny_flux2_klein` are loaded back by the
backends' own loaders (``from_pretrained(..., local_files_only=True)``), exactly as real weights are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

VOCABULARY = (
    "a the and of in on by with two three four friends cat dog red blue green subject walks runs park "
    "lake calm subtle slow movement steady camera natural moderate dynamic scene large energetic active "
    "portrait studio"
)
WORDS = VOCABULARY.split()

# options that make the backends generate at a tiny native size in two steps
WAN_TINY_OPTIONS: dict[str, Any] = {
    "steps": 2,
    "height": 16,
    "width": 32,
    "num_frames": 9,
    "max_sequence_length": 16,
}
FLUX_TINY_OPTIONS: dict[str, Any] = {
    "steps": 2,
    "height": 32,
    "width": 48,
    "max_sequence_length": 32,
    "text_encoder_out_layers": [1],
    "reference_pixels": 64 * 80,
}


def tiny_tokenizer(extra: tuple[str, ...] = ()) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in (*extra, *WORDS):
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def save_tiny_wan_vace(folder: Path, *, two_experts: bool = False) -> Path:
    """A tiny ``WanVACEPipeline`` (UMT5 text encoder, Wan VAE, VACE transformer) saved to ``folder``;
    ``two_experts``: a Wan2.2-style pair (``transformer`` for high noise, ``transformer_2`` for low)."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=64,
            d_model=32,
            d_ff=37,
            d_kv=8,
            num_heads=4,
            num_layers=2,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    ).eval()
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )

    def tiny_transformer(seed: int) -> Any:
        torch.manual_seed(seed)
        return WanVACETransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=12,
            in_channels=16,
            out_channels=16,
            text_dim=32,
            freq_dim=256,
            ffn_dim=32,
            num_layers=3,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            rope_max_seq_len=32,
            vace_layers=[0, 2],
            vace_in_channels=96,
        )

    transformer = tiny_transformer(0)
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    pipe = WanVACEPipeline(
        tokenizer=tiny_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        transformer=transformer,
        transformer_2=tiny_transformer(1) if two_experts else None,
        boundary_ratio=0.875 if two_experts else None,
    )
    pipe.save_pretrained(folder)
    return folder


WAN_LORA_TARGETS = ("attn1.to_q", "attn1.to_v", "ffn.net.2")


def save_tiny_wan_lora(path: Path, *, rank: int = 2, seed: int = 7, layers: int = 3) -> Path:
    """A LoRA for the tiny Wan transformer in diffusers' format (``transformer.blocks.N.<module>
    .lora_A/lora_B.weight``), as a safetensors file: a stand-in for a few-step distilled LoRA."""
    import torch
    from safetensors.torch import save_file

    dims = {"attn1.to_q": (24, 24), "attn1.to_v": (24, 24), "ffn.net.2": (32, 24)}  # (in, out)
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, Any] = {}
    for block in range(layers):
        for target in WAN_LORA_TARGETS:
            fan_in, fan_out = dims[target]
            key = f"transformer.blocks.{block}.{target}"
            tensors[f"{key}.lora_A.weight"] = torch.randn(rank, fan_in, generator=generator) * 0.5
            tensors[f"{key}.lora_B.weight"] = torch.randn(fan_out, rank, generator=generator) * 0.5
    save_file(tensors, str(path))
    return path


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def klein_tokenizer() -> Any:
    """The word-level tokenizer with Qwen3's chat markers and template, as klein's pipeline uses it."""
    tokenizer = tiny_tokenizer(("<|im_start|>", "<|im_end|>", "user", "assistant"))
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def save_tiny_flux2_klein(folder: Path, *, distilled: bool = True) -> Path:
    """A tiny ``Flux2KleinPipeline`` (Qwen3 text encoder, FLUX.2 VAE and transformer) saved to ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tokenizer = klein_tokenizer()
    torch.manual_seed(0)
    text_encoder = Qwen3ForCausalLM(
        Qwen3Config(
            hidden_size=16,
            intermediate_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=512,
        )
    ).eval()
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1,
        in_channels=4,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=16,
        timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4],
        guidance_embeds=False,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLFlux2(
        sample_size=32,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=1,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
    )
    pipe = Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        is_distilled=distilled,
    )
    pipe.save_pretrained(folder)
    return folder
