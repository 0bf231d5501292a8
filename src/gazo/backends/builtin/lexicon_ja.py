"""Japanese words the prompt parser knows, each mapped onto its English counterpart in `lexicon`.

Common subjects are translated to English so that they go through the same meaning-based matching
as English prompts; rarer nouns fall back to CLDR"s Japanese emoji annotations (`assets`).
"""

from __future__ import annotations

# fmt: off
COLOURS: dict[str, str] = {
    "赤": "red", "赤い": "red", "レッド": "red", "真っ赤な": "red", "青": "blue", "青い": "blue",
    "ブルー": "blue", "緑": "green", "緑色": "green", "グリーン": "green", "黄色": "yellow",
    "黄色い": "yellow", "黄": "yellow", "イエロー": "yellow", "紫": "purple", "紫色": "purple",
    "パープル": "purple", "ピンク": "pink", "桃色": "pink", "茶色": "brown", "ブラウン": "brown",
    "黒": "black", "黒い": "black", "ブラック": "black", "白": "white", "白い": "white",
    "ホワイト": "white", "灰色": "grey", "グレー": "grey", "金": "gold", "金色": "gold",
    "ゴールド": "gold", "銀": "silver", "銀色": "silver", "シルバー": "silver", "水色": "sky blue",
    "空色": "sky blue", "紺": "navy", "紺色": "navy", "ネイビー": "navy", "オレンジ": "orange",
    "橙": "orange", "ベージュ": "beige", "ミント": "mint", "ターコイズ": "turquoise", "藍色": "indigo",
}
STYLES: dict[str, str] = {
    "フラット": "flat", "ステッカー": "sticker", "シール": "sticker", "ポスター": "poster",
    "チラシ": "poster", "バナー": "banner", "サムネ": "banner", "サムネイル": "banner",
    "水彩": "watercolor", "水彩画": "watercolor", "ネオン": "neon", "パターン": "pattern",
    "柄": "pattern", "模様": "pattern", "壁紙": "pattern", "レトロ": "retro", "昭和": "retro",
    "ドット絵": "pixel", "ピクセル": "pixel", "ミニマル": "minimal", "シンプル": "minimal",
    "パステル": "pastel", "ゆめかわ": "pastel", "カード": "card", "はがき": "card", "年賀状": "card",
    "ロゴ": "minimal",
}
MOODS: dict[str, str] = {
    "夕焼け": "sunset", "夕日": "sunset", "夕暮れ": "sunset", "朝焼け": "sunset", "夜": "night",
    "夜空": "night", "星空": "night", "宇宙": "space", "銀河": "space", "海": "ocean",
    "ビーチ": "ocean", "海辺": "ocean", "森": "forest", "草原": "meadow", "野原": "meadow",
    "公園": "meadow", "丘": "meadow", "林": "forest", "自然": "forest", "雪": "winter", "冬": "winter",
    "春": "spring", "夏": "summer", "秋": "autumn", "紅葉": "autumn", "ハロウィン": "halloween",
    "クリスマス": "christmas", "パーティー": "party", "誕生日": "party", "お祝い": "party",
    "楽しい": "cheerful", "明るい": "cheerful", "元気": "cheerful", "穏やか": "calm",
    "落ち着いた": "calm", "癒し": "calm", "恋": "love", "愛": "love", "バレンタイン": "love",
    "空": "sky", "青空": "sky", "雲": "sky", "砂漠": "desert", "街": "city", "都会": "city",
    "雨": "rain", "幻想的": "dreamy", "高級": "elegant", "上品": "elegant", "セール": "sale",
    "未来": "tech", "テック": "tech",
}
LAYOUT: dict[str, str] = {
    "左": "left", "左側": "left", "右": "right", "右側": "right", "上": "top", "上部": "top",
    "下": "bottom", "下部": "bottom", "中央": "center", "真ん中": "center", "中心": "center",
}
BORDER_WORDS = {
    "フレーム", "枠", "縁",
}
BACKGROUND_WORDS = {
    "バック", "背景",
}
TEXT_WORDS = {
    "タイトル", "テキスト", "文字", "文言", "見出し",
}
REMOVAL = (
    "消して", "消す", "消去", "削除", "取り除", "除去", "なくして", "無くして", "取って", "消えた",
)
#: Counters follow a number: 三匹の猫, 2つのりんご.
NUMBERS: dict[str, int] = {
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5,
    "6": 6, "複数": 3, "たくさん": 5, "いくつか": 3,
}
COUNTERS = (
    "匹", "頭", "羽", "個", "本", "台", "人", "つ", "枚", "輪", "機", "杯",
)
#: Nouns that are surely drawable, by their English name.
NOUNS: dict[str, str] = {
    "猫": "cat", "ねこ": "cat", "ネコ": "cat", "子猫": "cat", "犬": "dog", "いぬ": "dog",
    "イヌ": "dog", "子犬": "dog", "鳥": "bird", "とり": "bird", "魚": "fish", "さかな": "fish",
    "うさぎ": "rabbit", "ウサギ": "rabbit", "くま": "bear", "クマ": "bear", "熊": "bear",
    "パンダ": "panda", "キツネ": "fox", "狐": "fox", "きつね": "fox", "ペンギン": "penguin",
    "クジラ": "whale", "鯨": "whale", "馬": "horse", "牛": "cow", "豚": "pig", "ぶた": "pig",
    "猿": "monkey", "サル": "monkey", "ライオン": "lion", "虎": "tiger", "トラ": "tiger",
    "象": "elephant", "ゾウ": "elephant", "カエル": "frog", "蛙": "frog", "蝶": "butterfly",
    "ちょうちょ": "butterfly", "恐竜": "dinosaur", "ドラゴン": "dragon", "竜": "dragon",
    "フクロウ": "owl", "亀": "turtle", "カメ": "turtle", "花": "flower", "はな": "flower",
    "桜": "cherry blossom", "桜の花": "cherry blossom", "さくら": "cherry blossom", "バラ": "rose",
    "薔薇": "rose", "ひまわり": "sunflower", "向日葵": "sunflower", "チューリップ": "tulip",
    "木": "tree", "もみじ": "maple leaf", "葉っぱ": "leaf", "キノコ": "mushroom", "山": "mountain",
    "富士山": "mount fuji", "太陽": "sun", "月": "moon", "星": "star", "虹": "rainbow",
    "雷": "lightning", "火": "fire", "炎": "fire", "波": "water wave", "家": "house", "城": "castle",
    "お城": "castle", "車": "car", "自動車": "car", "電車": "train", "新幹線": "bullet train",
    "飛行機": "airplane", "船": "ship", "自転車": "bicycle", "ロケット": "rocket", "本": "books",
    "ケーキ": "cake", "コーヒー": "coffee", "お茶": "tea", "ラーメン": "ramen", "寿司": "sushi",
    "すし": "sushi", "おにぎり": "rice ball", "りんご": "apple", "リンゴ": "apple", "林檎": "apple",
    "いちご": "strawberry", "イチゴ": "strawberry", "苺": "strawberry", "バナナ": "banana",
    "ピザ": "pizza", "パン": "bread", "ハート": "heart", "音楽": "musical note", "ギター": "guitar",
    "カメラ": "camera", "パソコン": "laptop", "スマホ": "mobile phone", "電話": "telephone",
    "時計": "clock", "傘": "umbrella", "プレゼント": "gift", "ロボット": "robot", "おばけ": "ghost",
    "お化け": "ghost", "幽霊": "ghost", "宇宙人": "alien", "宇宙飛行士": "astronaut", "王冠": "crown",
    "トロフィー": "trophy", "風船": "balloon", "雪だるま": "snowman", "かぼちゃ": "jack-o-lantern",
    "ツリー": "christmas tree", "鍵": "key", "電球": "light bulb", "地球": "globe", "鬼": "ogre",
    "忍者": "ninja", "神社": "shinto shrine", "鳥居": "shinto shrine", "お寺": "temple",
    "寺": "temple", "だるま": "daruma", "招き猫": "cat",
}
#: Particles and endings between words: they end a noun run and are never subjects themselves.
BREAKS = "のとがをにではやへもより、。・,.!?！？ 　「」『』（）()"  # noqa: RUF001 - full-width punctuation is the point
FILLERS = (
    "してください", "ください", "描いて", "作って", "つくって", "生成", "画像", "イラスト", "絵",
    "写真", "デザイン", "かわいい", "可愛い", "きれいな", "綺麗な", "素敵な", "大きな", "小さな",
    "スタイル", "風", "調", "感じ", "いっぱい", "入れて", "追加", "置いて", "配置", "した", "して",
    "する", "ある", "いる", "な", "前", "後ろ", "横", "隣", "中", "周り", "近く", "たち", "達",
)
# fmt: on
