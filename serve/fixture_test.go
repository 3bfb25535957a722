package serve

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/goushi/goushi/autograd"
	"github.com/goushi/goushi/bpe"
	"github.com/goushi/goushi/gpt"
	"github.com/goushi/goushi/layers"
)

// fixtureTexts are the training text of the test model, by style.
var fixtureTexts = map[string][]string{
	"抽象": {
		"家人们谁懂啊，今天终于喝上了二十块一瓶的矿泉水，我哭了，这就是成功人士的味道吗。",
		"我宣布，从今天起我的拖鞋就是我的座驾，谁也别想让我换车。",
		"老板说我上班摸鱼，我说我这是在和鱼进行深度的战略合作。",
		"今天去吃了一顿豪华早餐，两个包子一杯豆浆，服务员看我的眼神充满了尊敬。",
		"家人们，我终于买得起超市里最贵的那颗白菜了，人生巅峰不过如此。",
		"谁懂啊，外卖小哥叫我一声老板，我激动得多给了他一个好评。",
		"今天的我也是努力活着的一天，虽然只是从床上挪到了沙发上。",
		"我的人生格言是：能躺着绝不坐着，能坐着绝不站着，能站着那是因为没地方坐。",
	},
	"宋词": {
		"明月几时有，把酒问青天。不知天上宫阙，今夕是何年。",
		"大江东去，浪淘尽，千古风流人物。",
		"寻寻觅觅，冷冷清清，凄凄惨惨戚戚。",
		"昨夜雨疏风骤，浓睡不消残酒。试问卷帘人，却道海棠依旧。",
	},
}

// fixtureStyles lists the styles of fixtureTexts in a fixed order.
var fixtureStyles = []string{"抽象", "宋词"}

var (
	fixtureOnce sync.Once
	fixtureGen  *ModelGenerator
	fixtureCard Card
)

// testModel returns a real tiny GPT and byte-level BPE tokenizer, trained
// for a few hundred steps on fixtureTexts so that it writes Chinese. It is
// built once per test binary, in about two seconds on two cores.
func testModel(t testing.TB) (*ModelGenerator, Card) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureGen, fixtureCard = buildFixture(t)
	})
	if fixtureGen == nil {
		t.Fatal("building the test model failed")
	}
	return fixtureGen, fixtureCard
}

func buildFixture(t testing.TB) (*ModelGenerator, Card) {
	var texts []string
	for _, style := range fixtureStyles {
		texts = append(texts, fixtureTexts[style]...)
	}
	tok, err := bpe.Train(texts, bpe.TrainOptions{
		VocabSize: 512,
		Specials:  gpt.TokenizerSpecials(fixtureStyles),
	})
	if err != nil {
		t.Fatalf("training the tokenizer: %v", err)
	}

	// The token stream is documents of the form
	// <|endoftext|> <|style:S|> text, as training lays them out.
	eot, _ := tok.SpecialID(bpe.EndOfText)
	var stream []int
	for _, style := range fixtureStyles {
		sid, _ := tok.SpecialID(gpt.StyleToken(style))
		for _, text := range fixtureTexts[style] {
			stream = append(stream, eot, sid)
			stream = append(stream, tok.Encode(text)...)
		}
	}

	cfg := gpt.Config{VocabSize: tok.VocabSize(), ContextLen: 64, Layers: 2, Heads: 2,
		Embd: 48, Styles: fixtureStyles}
	m := gpt.New(cfg, 1)
	opt := layers.NewAdamW(m.Params(), layers.AdamWConfig{LR: 1e-2, Beta1: 0.9,
		Beta2: 0.99, Eps: 1e-8})
	const B, T, steps = 8, 32, 250
	rng := rand.New(rand.NewPCG(7, 7))
	ids, targets := make([]int, B*T), make([]int, B*T)
	tp := autograd.NewTape()
	for step := 0; step < steps; step++ {
		for b := 0; b < B; b++ {
			start := rng.IntN(len(stream) - T - 1)
			copy(ids[b*T:], stream[start:start+T])
			copy(targets[b*T:], stream[start+1:start+T+1])
		}
		tp.Reset()
		opt.ZeroGrad()
		loss := m.Loss(tp, ids, targets, B, T)
		if step%100 == 0 || step == steps-1 {
			t.Logf("step %d loss %.3f", step, loss.Value.Data[0])
		}
		tp.Backward(loss)
		opt.Step(5e-3)
	}

	var credits strings.Builder
	credits.WriteString("# Data credits\n\n- **test sentences**: written for these tests, " +
		"licence MIT\n")
	card := Card{
		ID: "goushi-test", VocabSize: cfg.VocabSize, ContextLen: cfg.ContextLen,
		Layers: cfg.Layers, Heads: cfg.Heads, Embd: cfg.Embd, Params: m.NumParams(),
		Styles: fixtureStyles, Step: steps, BestValLoss: 2.5, ValBPB: 1.2,
		LossHistory: []LossPoint{{Step: 0, Train: 6.2, Val: 6.3}, {Step: 150, Train: 1.1,
			Val: 2.5}},
		Credits: credits.String(),
	}
	return &ModelGenerator{Model: m, Tokenizer: tok}, card
}

func TestFixtureWritesChinese(t *testing.T) {
	gen, _ := testModel(t)
	p := Params{Temperature: 0, TopP: 1, RepetitionPenalty: 1, MaxNewTokens: 40, N: 1,
		Style: "抽象"}
	var text strings.Builder
	for ev, err := range gen.Generate(t.Context(), "家人们", p) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(ev.Text)
	}
	t.Logf("greedy continuation: %q", text.String())
	if hanShare(text.String()) < 0.5 {
		t.Errorf("greedy text %q is less than half Han characters", text.String())
	}
}

// hanShare returns the share of Han characters among the runes of s.
func hanShare(s string) float64 {
	n, han := 0, 0
	for _, r := range s {
		n++
		if r >= 0x4E00 && r <= 0x9FFF || r >= 0x3400 && r <= 0x4DBF {
			han++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(han) / float64(n)
}
