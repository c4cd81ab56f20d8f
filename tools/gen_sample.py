#!/usr/bin/env python3
"""Generate a realistic Taobao/Tmall order export (订单报表) for a fictional shop.

Usage:
  tools/gen_sample.py [--seed N] [--orders N] [--now "YYYY-MM-DD HH:MM"]
                      [--out-dir DIR] [--encoding gb18030|utf-8]
  tools/gen_sample.py --small [--out-dir DIR]

Default mode writes, into --out-dir (default: <repo>/data):
  sample_orders.csv    the export as the Taobao seller backend writes it: GB18030
                       (or --encoding utf-8, no BOM), CRLF record terminators,
                       standard CSV quoting (a field is quoted when it contains an
                       ASCII comma, a double quote or a line break; quotes doubled)
  sample_orders.jsonl  the same orders as JSON Lines (UTF-8), minus the malformed rows
  sample_chat.csv      the shop's chat with about half of the buyers with unpaid orders
                       (买家,时间,发送方,内容,店铺,订单号; the --encoding of the export): the
                       buyer's reason, or 不要了 / a complaint, a bot greeting and the shop's
                       answers; two malformed rows (bad time, unknown sender)
and prints a summary (segments, statuses, reasons, edge cases, the line numbers of the
malformed rows) to stderr. Output is a pure function of --seed, --orders and --now.

--orders N is the number of GOOD orders (N >= 80). The CSV additionally holds
MALFORMED rows, placed in the middle of the file, which a correct reader must reject
with their line number (the physical line where the record starts, header = line 1)
while using every other row:
  bad_amount     买家应付货款 and 总金额 are "12x.00"
  bad_time       订单创建时间 is "2026-13-45 25:00:00"
  missing_id     订单编号 is empty
  unknown_status 订单状态 is "异常订单" (not one of the five Taobao statuses)
  short_row      the record has only 13 fields (the export was cut after 订单创建时间)
Apart from the defect, each malformed row is a plausible order of a buyer who appears
nowhere else, so rejecting it changes nothing else in a plan.

--small writes a fixed, hand-checkable set instead (SMALL_ORDERS below, 12 good orders
and one malformed row, now = 2026-11-23 21:00, always GB18030) to
<out-dir>/taobao_small_gb18030.csv, its chat <out-dir>/taobao_small_chat.csv (SMALL_CHAT,
UTF-8) and <out-dir>/taobao_small_expected.md (default
out-dir: <repo>/tests/data). The expected file lists every record's line number and
what a correct reader and planner do with it.

Phone numbers are random and may belong to real people, so never point a live SMS
gateway at this data; e-mail addresses use the reserved example.com/.net/.org domains.
Python 3 standard library only.
"""

import argparse
import datetime as dt
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

HEADER = [
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额",
    "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系手机",
    "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "订单备注",
    "宝贝总数量", "店铺名称", "订单关闭时间", "买家邮箱",
]

SHOP = "青禾家居旗舰店"
# A second shop exported together with the first (an agency or a seller with two shops):
# a buyer is (shop, buyer), so its orders are never combined with the first shop's.
SHOP2 = "木森家具专营店"
# 大促 columns, appended to the default sample's header (not to the --small set): the order
# type, and a pre-sale order's balance (尾款) window.
PROMO_HEADER = ["订单类型", "尾款支付开始时间", "尾款支付结束时间"]
OT_NORMAL, OT_PRESALE, OT_FLASH, OT_SECKILL = "普通订单", "预售订单", "聚划算", "秒杀"
ORDER_TYPE_KIND = {OT_NORMAL: "normal", OT_PRESALE: "presale", OT_FLASH: "flash_sale", OT_SECKILL: "flash_sale"}

ST_UNPAID = "等待买家付款"
ST_PAID = "买家已付款，等待卖家发货"
ST_SHIPPED = "卖家已发货，等待买家确认"
ST_SUCCESS = "交易成功"
ST_CLOSED = "交易关闭"
STATUS_KIND = {ST_UNPAID: "unpaid", ST_PAID: "paid", ST_SHIPPED: "paid",
               ST_SUCCESS: "paid", ST_CLOSED: "closed"}

BIG_TICKET_FEN = 100000  # 1000.00 CNY, "at or above"
AUTO_CLOSE = dt.timedelta(hours=72)

# ---------------------------------------------------------------------------------
# Keyword sets: the generator checks every address and note it writes against them,
# so the intended segment / reason of each order is what a keyword classifier finds.
OFFICE_KW = ["大厦", "写字楼", "科技园", "产业园", "公司", "中心"]
STUDENT_KW = ["大学", "学院", "学校", "校区", "宿舍"]
FOREIGN_PREFIX = ["香港特别行政区", "澳门特别行政区", "台湾"]
REASON_KW = {
    "balance": ["余额不足", "钱不够", "等发工资", "花呗额度"],
    "hesitating": ["再考虑一下", "犹豫", "不确定", "怕质量"],
    "price": ["太贵", "便宜点", "优惠", "降价", "比价"],
    "forgot": ["忘了", "忘记"],
}

# ---------------------------------------------------------------------------------
# Catalogue: (title, unit price in fen).
SMALL_ITEMS = [
    ("北欧实木床头柜简约现代卧室小型储物柜收纳柜床边柜迷你款置物架", 19900),
    ("日式棉麻四件套全棉纯棉床单被套床上用品1.8m床简约风宿舍三件套", 29900),
    ("加厚珊瑚绒毛毯冬季午睡毯子办公室盖腿小被子沙发毯法兰绒空调毯", 5990),
    ("透明亚克力收纳盒桌面化妆品整理盒带抽屉防尘大容量护肤品置物架", 3990),
    ("家用乳胶枕头一对装护颈椎助睡眠枕芯单人学生宿舍成人天然橡胶枕", 8900),
    ("北欧ins风地毯客厅沙发茶几毯卧室床边毯家用大面积加厚防滑地垫", 12900),
    ("全遮光窗帘成品卧室客厅隔热防晒遮阳布简约现代挂钩式免打孔安装", 16800),
    ("落地置物架卧室客厅多层收纳架厨房储物架铁艺家用多功能落地层架", 7900),
    ("懒人沙发豆袋单人小户型卧室阳台休闲榻榻米沙发椅网红款可拆洗布套", 25900),
    ("LED护眼台灯学生宿舍书桌阅读充电式卧室床头灯国AA级无频闪调光", 6990),
    ("加厚防滑衣架成人家用晾衣架无痕衣挂20只装干湿两用不鼓包衣撑", 2990),
    ("简易衣柜布艺组装收纳柜出租屋用宿舍挂衣橱钢管加粗加固防尘衣橱", 13900),
    ("浴室防滑地垫卫生间门口吸水脚垫家用进门地毯硅藻泥速干可自由裁剪", 2590),
    ("陶瓷餐具套装家用碗碟筷组合北欧风碗盘4人食乔迁新居釉下彩礼盒", 18800),
    ("硅藻泥吸水地垫卫生间速干防滑垫浴室门口脚垫天然硅藻土可水洗加大", 3580),
    ("记忆棉靠垫办公室腰靠椅子靠背座椅护腰垫久坐神器汽车腰枕人体工学", 7900),
    ("折叠小桌板床上书桌笔记本电脑桌懒人学生宿舍加高可升降小桌子新款", 4990),
    ("真空压缩收纳袋被子衣物整理袋抽气大号搬家送电泵棉被专用加厚款", 4590),
    ("香薰蜡烛礼盒装卧室助眠家用持久香氛生日礼物送女友高级感伴手礼", 9900),
    ("实木挂钩壁挂免打孔门后衣帽钩玄关挂衣架北欧创意墙上钥匙挂钩免钉", 1990),
    ("磁吸浴室置物架免打孔卫生间洗漱台收纳架壁挂式不锈钢沐浴露洗发水架", 5900),
    ("创意北欧挂钟客厅静音钟表简约现代家用时钟大气个性装饰石英钟新款", 8900),
    ("羽绒被冬被加厚保暖白鹅绒被芯双人冬季被子95白鹅绒五星级酒店", 39900),
    ("玄关换鞋凳家用门口穿鞋凳实木软包收纳凳子进门可坐式鞋柜长凳子", 15900),
]
BIG_ITEMS = [
    ("意式极简真皮沙发头层牛皮客厅三人位小户型轻奢现代简约沙发组合", 399900),
    ("北欧实木双人床1.8米主卧现代简约软包婚床储物高箱床家用公主床", 259900),
    ("推拉门衣柜家用卧室现代简约实木衣柜大容量组装衣橱整体储物柜子", 189900),
    ("乳胶独立弹簧床垫席梦思1.8m家用软硬两用椰棕床垫20cm加厚护脊", 129900),
    ("岩板餐桌椅组合现代简约家用小户型长方形饭桌一桌六椅轻奢款餐台", 168000),
    ("科技布沙发小户型客厅布艺沙发北欧直排三人位免洗奶油风耐磨猫抓布", 228000),
    ("儿童上下床高低床双层床实木子母床两层组合床带护栏书桌衣柜一体床", 288000),
    ("电动升降书桌站立式办公桌家用电脑桌学习桌双电机记忆调节桌腿桌架", 138000),
]
ITEM_999 = ("轻奢实木电视柜现代简约客厅小户型地柜茶几组合套装岩板收纳柜新款", 99900)
ITEM_1000 = ("北欧实木书架落地置物架客厅靠墙多层书柜组合儿童绘本架收纳架子", 100000)

# ---------------------------------------------------------------------------------
# Addresses. Mainland: "省 市 区 路 门牌 楼盘 详细".
CITIES = [
    ("浙江省", "杭州市", ["西湖区", "拱墅区", "滨江区", "余杭区"]),
    ("上海", "上海市", ["浦东新区", "徐汇区", "闵行区", "静安区"]),
    ("北京", "北京市", ["朝阳区", "海淀区", "丰台区", "昌平区"]),
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区", "龙华区"]),
    ("广东省", "广州市", ["天河区", "海珠区", "番禺区", "白云区"]),
    ("江苏省", "南京市", ["鼓楼区", "建邺区", "江宁区", "秦淮区"]),
    ("江苏省", "苏州市", ["姑苏区", "吴中区", "相城区"]),
    ("四川省", "成都市", ["武侯区", "锦江区", "成华区", "双流区"]),
    ("湖北省", "武汉市", ["江汉区", "武昌区", "洪山区", "汉阳区"]),
    ("陕西省", "西安市", ["雁塔区", "未央区", "碑林区"]),
    ("山东省", "青岛市", ["市南区", "崂山区", "李沧区"]),
    ("福建省", "厦门市", ["思明区", "湖里区", "集美区"]),
    ("湖南省", "长沙市", ["岳麓区", "天心区", "开福区"]),
    ("河南省", "郑州市", ["金水区", "二七区", "中原区"]),
    ("重庆", "重庆市", ["渝北区", "九龙坡区", "南岸区"]),
    ("天津", "天津市", ["南开区", "河西区", "和平区"]),
    ("辽宁省", "沈阳市", ["和平区", "浑南区", "铁西区"]),
    ("安徽省", "合肥市", ["蜀山区", "包河区", "庐阳区"]),
    ("新疆维吾尔自治区", "乌鲁木齐市", ["天山区", "沙依巴克区"]),
]
ROADS = ["人民路", "解放路", "建设路", "文三路", "长江路", "和平路", "滨河路", "金桥路",
         "青年路", "光明路", "东风路", "新华路", "朝阳路", "幸福路", "胜利路", "园林路",
         "环城北路", "凤凰路", "翠苑路", "丰收路"]
ESTATES = ["阳光花园", "金色家园", "翠湖苑", "东方明珠小区", "绿城桂花园", "万科城市花园",
           "碧桂园", "保利香槟国际", "龙湖春江郦城", "幸福里", "锦绣嘉园", "紫荆花园",
           "梧桐苑", "滨江华府", "和平新村", "枫林小区", "荷塘月色", "世纪新城",
           "恒大御景半岛", "春风十里"]
OFFICE_BUILDINGS = [
    "华星科技大厦", "创新大厦", "国贸大厦", "金融大厦", "未来科技园", "软件科技园",
    "数字产业园", "文创产业园", "国际金融中心", "环球贸易中心", "万达广场写字楼",
    "时代写字楼", "天安科技园", "星河产业园", "世贸中心", "招商大厦",
]
COMPANIES = ["星辰网络科技有限公司", "云帆信息技术有限公司", "青橙文化传媒有限公司",
             "远景供应链管理有限公司", "拾光设计有限公司", "博远咨询有限公司"]
UNIVERSITIES = [
    ("湖北省", "武汉市", "洪山区", "珞喻路1037号 华中科技大学", ["紫菘学生公寓", "韵苑学生公寓"]),
    ("湖北省", "武汉市", "武昌区", "八一路299号 武汉大学", ["枫园", "桂园"]),
    ("北京", "北京市", "海淀区", "颐和园路5号 北京大学", ["燕园"]),
    ("江苏省", "南京市", "栖霞区", "仙林大道163号 南京大学仙林校区", ["仙林"]),
    ("浙江省", "杭州市", "西湖区", "余杭塘路866号 浙江大学紫金港校区", ["蓝田学园", "丹青学园"]),
    ("广东省", "广州市", "番禺区", "外环西路100号 广东工业大学", ["西区"]),
    ("四川省", "成都市", "郫都区", "犀安路999号 西南交通大学犀浦校区", ["犀浦"]),
    ("陕西省", "西安市", "长安区", "西长安街620号 西安邮电大学", ["长安校区"]),
    ("湖南省", "长沙市", "岳麓区", "麓山南路932号 中南大学", ["南校区"]),
    ("山东省", "青岛市", "黄岛区", "长江西路66号 中国石油大学", ["唐岛湾"]),
    ("福建省", "厦门市", "思明区", "思明南路422号 厦门大学", ["芙蓉"]),
    ("河南省", "郑州市", "中原区", "科学大道100号 郑州大学", ["松园"]),
    ("江苏省", "苏州市", "相城区", "济学路8号 苏州职业技术学院", ["北区"]),
    ("安徽省", "合肥市", "蜀山区", "金寨路96号 中国科学技术大学", ["东区"]),
    ("浙江省", "杭州市", "拱墅区", "学院路 杭州外国语学校", ["高中部"]),
]
# Outside mainland China. Several HK addresses name a 大厦/中心: they are foreign AND
# match the office keywords (the rules decide which wins).
FOREIGN_ADDRESSES = [
    ("香港特别行政区 九龙 油尖旺区 弥敦道132号 美丽华大厦 8楼B室", "hk"),
    ("香港特别行政区 香港岛 湾仔区 轩尼诗道288号 英皇集团中心 15楼", "hk"),
    ("香港特别行政区 新界 沙田区 沙田正街18号 新城市广场一期 12楼", "hk"),
    ("香港特别行政区 香港岛 东区 太古城道18号 康山花园5座 12楼C室", "hk"),
    ("澳门特别行政区 澳门半岛 花地玛堂区 罗理基博士大马路 富丽花园 6楼D", "mo"),
    ("澳门特别行政区 氹仔 海洋花园大马路 海洋花园 翠松苑 9楼", "mo"),
    ("台湾 台北市 大安区 忠孝东路四段100号 5楼", "tw"),
    ("台湾 新北市 板桥区 文化路一段188号 7楼", "tw"),
    ("台湾 高雄市 苓雅区 四维三路6号 11楼之2", "tw"),
    ("Singapore 238859 Orchard Road 391 #12-01", "sg"),
    ("Singapore 529510 Tampines Central 1 #08-23", "sg"),
    ("Tokyo, Japan 150-0001 東京都渋谷区神宮前1-2-3 #502", "jp"),
    ("Malaysia Kuala Lumpur 50450 Jalan Ampang 168, Unit 21-3", "my"),
    ("United States, CA 94086 Sunnyvale, 123 Murphy Ave Apt 5", "us"),
    ("Australia NSW 2000 Sydney, 200 George Street Unit 1203", "au"),
    ("Canada BC V6B 1A1 Vancouver, 789 Robson St Suite 400", "ca"),
]
FOREIGN_NAMES = {
    "hk": ["Chan Tai Man", "Kevin Lau", "陈家豪", "Wong Ka Yan"],
    "mo": ["Leong Chi Hou", "何嘉欣"],
    "tw": ["林怡君", "陈冠宇", "Jason Lin"],
    "sg": ["Tan Wei Ming", "Lily Ng"],
    "jp": ["Sato Yuki", "Tanaka Ken"],
    "my": ["Lim Mei Ling"],
    "us": ["Mike Chen", "Grace Zhou"],
    "au": ["Amy Li", "Daniel Xu"],
    "ca": ["Eric Huang"],
}
# Mainland residential trap: 武汉's 香港路 is not Hong Kong.
TRAP_ADDRESS = "湖北省 武汉市 江岸区 香港路 168号 香港路小区 3栋 1单元 502"

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢")
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛", "慕容", "东方", "令狐", "皇甫"]
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉晶晓雯婷琳欣怡浩宇轩然梓涵子豪一诺思远嘉")
# U+4DAE is outside GBK: GB18030 encodes it in four bytes.
RARE_NAME = "刘䶮"

NICK_CN_A = ["悠悠的", "森林里的", "爱吃", "不吃", "一只", "小", "阿", "胖胖的", "安静的", "会飞的"]
NICK_CN_B = ["猫", "鹿", "鱼", "橘子", "兔子", "熊", "土豆", "柚子", "企鹅", "云朵"]
NICK_CN_FIXED = ["南风知我意", "月亮不睡我不睡", "山有木兮", "奶茶三分糖", "小鱼儿~", "阿狸不吃鱼",
                 "一只大橘子", "晚风吹人醒", "今天也要加油鸭", "甜甜圈不甜"]
PINYIN = ["xiaoming", "xiaohong", "zhangwei", "lina", "wangfang", "chenxi", "liuyang",
          "zhaolei", "sunli", "zhoujie", "huanghao", "linxin", "yangyang", "wuqiong",
          "xuming", "haoran", "tingting", "jiajia", "mengmeng", "dongdong"]
EN_NAMES = ["lily", "jack", "coco", "amy", "kevin", "momo", "tony", "nana", "sky", "leo"]

NOTES = {
    "balance": ["余额不足，明天再付", "这个月钱不够了，等发工资再拍", "花呗额度不够了，过两天付款",
                "等发工资了就付款，麻烦先留着", "支付宝余额不足,晚点充值再付", "钱不够，月底前一定付",
                "等发工资再付，15号发", "花呗额度用完了，下个月恢复了就付"],
    "hesitating": ["再考虑一下尺寸", "还在犹豫选哪个颜色", "不确定放不放得下，先拍下",
                   "怕质量不好，有质保吗", "再考虑一下，和家里人商量", "有点犹豫,想先看看买家秀",
                   "不确定尺寸合不合适，能退换吗", "怕质量没有图片好看"],
    "price": ["太贵了，能便宜点吗", "有优惠券吗", "双十二会不会降价", "别家同款便宜点，再比价看看",
              "能再优惠点吗，买两件", "有点太贵了,等活动再说", "在比价，价格合适就付"],
    "forgot": ["怕忘了，先拍下晚上付", "提醒我一下，容易忘记付款", "上次就忘了付，这次记得提醒我",
               "拍下怕忘记，下班再付"],
    "other": ["请尽快发货", '请尽快发货，"周末"在家\n谢谢', "周末在家，工作日请放快递柜",
              "要白色的, 不要灰色", "送人的，不要放价格单", "麻烦发顺丰, 到付也可以",
              "包装结实一点，上次收到有磕碰", '请备注"易碎"，轻拿轻放', "放门卫室就行\n谢谢老板",
              '尺寸: 60x40cm, 颜色: "燕麦色"', "能开发票吗？抬头：个人", "放菜鸟驿站就好，谢谢😊"],
}
SELLER_REMARKS = ["已核对地址", "赠品：收纳袋x1", "客户要求周末送货", "已改价", "大件需预约送货"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
                   "151", "152", "155", "156", "157", "158", "159", "166", "173", "176",
                   "177", "180", "181", "182", "183", "185", "186", "187", "188", "189",
                   "191", "198", "199"]


# ---------------------------------------------------------------------------------
def fmt_money(fen):
    return "%d.%02d" % (fen // 100, fen % 100)


def fmt_time(t):
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else ""


def classify_address(addr):
    tags = []
    if any(addr.startswith(p) for p in FOREIGN_PREFIX) or addr[:1].isascii():
        tags.append("foreign")
    if any(k in addr for k in OFFICE_KW):
        tags.append("office")
    if any(k in addr for k in STUDENT_KW):
        tags.append("student")
    return tags


def classify_note(note):
    return [r for r, kws in REASON_KW.items() if any(k in note for k in kws)]


def csv_field(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


class Gen:
    def __init__(self, seed, now):
        self.r = random.Random(seed)
        self.now = now
        self.used_id_set = {}
        self.used_buyers = {}

    # -- primitives ------------------------------------------------------------
    def order_id(self):
        while True:
            oid = self.r.choice("1234") + "".join(self.r.choice("0123456789") for _ in range(18))
            if oid not in self.used_id_set:
                self.used_id_set[oid] = True
                return oid

    def nickname(self):
        r = self.r
        while True:
            k = r.random()
            if k < 0.25:
                n = "tb_%s%d" % (r.choice(PINYIN), r.randint(1, 999))
            elif k < 0.40:
                n = "tb%d" % r.randint(10 ** 8, 10 ** 10 - 1)
            elif k < 0.50:
                n = "t_%d_%04d" % (r.randint(1400000000000, 1700000000000), r.randint(0, 9999))
            elif k < 0.65:
                n = "%s_%d" % (r.choice(EN_NAMES), r.randint(1985, 2008))
            elif k < 0.75:
                n = "%s%02d%02d" % (r.choice(PINYIN), r.randint(1, 12), r.randint(1, 28))
            elif k < 0.85:
                n = r.choice(NICK_CN_FIXED)
            else:
                n = r.choice(NICK_CN_A) + r.choice(NICK_CN_B)
                if r.random() < 0.4:
                    n += str(r.randint(1, 99))
            if n not in self.used_buyers:
                self.used_buyers[n] = True
                return n

    def person_name(self, length=None):
        r = self.r
        if length is None:
            length = r.choices([2, 3, 4], [35, 60, 5])[0]
        if length == 4:
            return r.choice(COMPOUND_SURNAMES) + r.choice(GIVEN) + r.choice(GIVEN)
        if length == 2:
            return r.choice(SURNAMES) + r.choice(GIVEN)
        if r.random() < 0.08:
            return r.choice(COMPOUND_SURNAMES) + r.choice(GIVEN)
        return r.choice(SURNAMES) + r.choice(GIVEN) + r.choice(GIVEN)

    def phone(self):
        return self.r.choice(MOBILE_PREFIXES) + "%08d" % self.r.randint(0, 99999999)

    def address(self, seg):
        r = self.r
        if seg == "foreign":
            return r.choice(FOREIGN_ADDRESSES)
        if seg == "student":
            prov, city, dist, campus, halls = r.choice(UNIVERSITIES)
            detail = r.choice([
                "%s %d栋 %d" % (r.choice(halls), r.randint(1, 30), r.randint(101, 618)),
                "%s %d号楼 宿舍%d" % (r.choice(halls), r.randint(1, 20), r.randint(101, 618)),
                "%d舍 %d室" % (r.randint(1, 40), r.randint(101, 618)),
                "菜鸟驿站 (代收)",
            ])
            return "%s %s %s %s %s" % (prov, city, dist, campus, detail), None
        prov, city, dists = r.choice(CITIES)
        head = "%s %s %s %s %d号" % (prov, city, r.choice(dists), r.choice(ROADS), r.randint(1, 999))
        if seg == "office":
            b = r.choice(OFFICE_BUILDINGS)
            tail = r.choice([
                "%s %d楼" % (b, r.randint(2, 38)),
                "%s %s座 %d层 %d室" % (b, r.choice("ABC"), r.randint(2, 30), r.randint(1, 20) + 100 * r.randint(2, 30)),
                "%s %d栋 %s" % (b, r.randint(1, 12), r.choice(COMPANIES)),
                "%s 前台" % r.choice(COMPANIES),
            ])
            return head + " " + tail, None
        tail = "%s %d栋 %d单元 %d" % (r.choice(ESTATES), r.randint(1, 30), r.randint(1, 6),
                                     r.randint(1, 33) * 100 + r.randint(1, 4))
        return head + " " + tail, None

    def created_between(self, lo_min, hi_min):
        """A creation time lo..hi minutes before now, weighted to waking hours."""
        r = self.r
        weights = [2, 1, 1, 1, 1, 1, 2, 3, 5, 7, 9, 9, 10, 9, 8, 8, 8, 7, 7, 8, 10, 12, 12, 8]
        while True:
            m = r.uniform(lo_min, hi_min)
            t = self.now - dt.timedelta(minutes=m)
            if r.random() * 12 < weights[t.hour]:
                return t.replace(microsecond=0)

    def created_random(self, lo_min=20, hi_min=71 * 60):
        k = self.r.random()
        if k < 0.70:
            lo, hi = lo_min, min(hi_min, 24 * 60)
        elif k < 0.90:
            lo, hi = max(lo_min, 24 * 60), min(hi_min, 48 * 60)
        else:
            lo, hi = max(lo_min, 48 * 60), hi_min
        if lo >= hi:
            lo, hi = lo_min, hi_min
        return self.created_between(lo, hi)

    # -- an order --------------------------------------------------------------
    def order(self, *, buyer=None, seg=None, big=None, status="unpaid", reason=None,
              created=None, paid=None, closed=None, person=None, item=None, addr=None, tags=()):
        r = self.r
        if seg is None:
            seg = r.choices(["office", "student", "foreign", "residential"], [25, 15, 6, 54])[0]
        if big is None:
            big = r.random() < {"office": 0.12, "student": 0.03, "foreign": 0.08}.get(seg, 0.12)
        if buyer is None:
            buyer = self.nickname()
        addr, region = addr if addr is not None else self.address(seg)
        if person is None:
            if seg == "foreign":
                person = r.choice(FOREIGN_NAMES[region])
            else:
                person = self.person_name()
        if item is None:
            item = r.choice(BIG_ITEMS if big else SMALL_ITEMS)
        title, unit = item
        qty = 1 if unit >= 50000 else r.choices([1, 2, 3, 4], [75, 15, 6, 4])[0]
        goods = unit * qty
        if seg == "foreign":
            postage = 4500 if unit >= 50000 else 3000
        elif addr.startswith("新疆"):
            postage = 1500
        elif goods < 3900:
            postage = 500
        else:
            postage = 0
        phone = "" if seg == "foreign" or r.random() < 0.06 else self.phone()
        email = ""
        if seg == "foreign":
            local = person.lower().replace(" ", ".") if person.isascii() else "%s%d" % (r.choice(PINYIN), r.randint(1, 99))
            email = "%s@%s" % (local, r.choice(["example.com", "example.net", "example.org"]))
        elif r.random() < 0.05:
            email = "%d@example.com" % r.randint(10 ** 7, 10 ** 10)
        if reason is None:
            if status == "unpaid":
                reason = r.choices(["", "balance", "hesitating", "price", "forgot", "other"],
                                   [55, 10, 9, 10, 6, 10])[0]
            else:
                reason = r.choices(["", "other"], [75, 25])[0]
        note = r.choice(NOTES[reason]) if reason else ""
        if created is None:
            # random paid orders are paid more than an hour before now: the paid-within-
            # the-hour cases are all explicit edge cases
            created = self.created_random(lo_min=70 if status == "paid" else 20)
        raw_status = ST_UNPAID
        if status == "paid":
            if paid is None:
                room = (self.now - created).total_seconds() / 60 - 61
                delay = r.choice([r.uniform(0.5, 15), r.uniform(0.5, 15), r.uniform(15, 240)])
                paid = created + dt.timedelta(minutes=min(delay, max(room, 0.5)))
                paid = paid.replace(microsecond=0)
            age_h = (self.now - paid).total_seconds() / 3600
            if age_h < 10:
                raw_status = ST_PAID
            elif age_h < 50:
                raw_status = r.choices([ST_SHIPPED, ST_PAID], [7, 3])[0]
            else:
                raw_status = r.choices([ST_SUCCESS, ST_SHIPPED], [4, 6])[0]
        elif status == "closed":
            raw_status = ST_CLOSED
            if closed is None:
                room = (self.now - created).total_seconds() / 60
                closed = created + dt.timedelta(minutes=r.uniform(3, max(4, min(room, 8 * 60))))
                closed = closed.replace(microsecond=0)
        logistics = ""
        if raw_status in (ST_SHIPPED, ST_SUCCESS):
            if big:
                logistics = "DPK%d" % r.randint(10 ** 11, 10 ** 12 - 1)
            else:
                logistics = r.choice(["SF%d" % r.randint(10 ** 11, 10 ** 12 - 1),
                                      "YT%d" % r.randint(10 ** 12, 10 ** 13 - 1),
                                      "JT%d" % r.randint(10 ** 12, 10 ** 13 - 1),
                                      "7%d" % r.randint(10 ** 13, 10 ** 14 - 1)])
        if phone:
            alipay = phone[:3] + "****" + phone[-4:]
        else:
            alipay = "%s***@example.com" % buyer.encode("ascii", "ignore").decode()[:2].lower()
        o = {
            "id": self.order_id(), "buyer": buyer, "alipay": alipay, "goods": goods,
            "postage": postage, "raw_status": raw_status, "note": note, "name": person,
            "address": addr, "ship": "EMS" if seg == "foreign" else ("物流" if unit >= 100000 else "快递"),
            "phone": phone, "created": created, "paid": paid, "closed": closed, "item": title,
            "logistics": logistics, "remark": r.choice(SELLER_REMARKS) if r.random() < 0.06 else "",
            "qty": qty, "email": email,
            # meta (not written): intended segment, reason, edge-case tags
            "seg": seg, "reason": reason, "tags": list(tags),
        }
        return o


def csv_row(o, promo=False):
    row = [
        o["id"], o["buyer"], o["alipay"], o.get("goods_str") or fmt_money(o["goods"]),
        fmt_money(o["postage"]), o.get("total_str") or fmt_money(o["goods"] + o["postage"]),
        o["raw_status"], o["note"], o["name"], o["address"], o["ship"],
        ("'" + o["phone"]) if o["phone"] else "", o.get("created_str") or fmt_time(o["created"]),
        fmt_time(o["paid"]), o["item"], "1", o["logistics"], o["remark"], str(o["qty"]),
        o.get("shop", SHOP), fmt_time(o["closed"]), o["email"],
    ]
    if promo:
        row += [o.get("otype", OT_NORMAL), fmt_time(o.get("bal_start")), fmt_time(o.get("bal_end"))]
    return row


def json_line(o):
    def s(v):
        return json.dumps(v, ensure_ascii=False)
    parts = [
        '"order_id":' + s(o["id"]), '"buyer":' + s(o["buyer"]),
        '"amount":' + fmt_money(o["goods"]),  # a JSON number written with 2 decimals
        '"status":' + s(STATUS_KIND[o["raw_status"]]),
        '"created_at":' + s(fmt_time(o["created"])),
        '"paid_at":' + (s(fmt_time(o["paid"])) if o["paid"] else "null"),
        '"closed_at":' + (s(fmt_time(o["closed"])) if o["closed"] else "null"),
        '"note":' + s(o["note"]), '"receiver_name":' + s(o["name"]),
        '"address":' + s(o["address"]), '"phone":' + s(o["phone"]),
        '"email":' + s(o["email"]), '"item":' + s(o["item"]), '"shop":' + s(o.get("shop", SHOP)),
        '"order_type":' + s(ORDER_TYPE_KIND[o.get("otype", OT_NORMAL)]),
        '"balance_starts":' + (s(fmt_time(o["bal_start"])) if o.get("bal_start") else "null"),
        '"balance_ends":' + (s(fmt_time(o["bal_end"])) if o.get("bal_end") else "null"),
    ]
    return "{" + ",".join(parts) + "}"


def render_csv(records, header=HEADER):
    """records: list of field lists. Returns (text, start line of each record)."""
    out = [",".join(header) + "\r\n"]
    line = 2
    starts = []
    for fields in records:
        rec = ",".join(csv_field(f) for f in fields) + "\r\n"
        starts.append(line)
        line += rec.count("\n")
        out.append(rec)
    return "".join(out), starts


# ---------------------------------------------------------------------------------
def build_sample(seed, n_orders, now):
    g = Gen(seed, now)
    r = g.r
    M = lambda m: now - dt.timedelta(minutes=m)  # noqa: E731
    edge = []

    # Buyers with 2 or 3 unpaid orders (one combined reminder each).
    for count in (2, 2, 2, 2, 3, 3):
        buyer = g.nickname()
        first = g.order(buyer=buyer, status="unpaid", created=g.created_between(60, 20 * 60),
                        tags=["multi_unpaid_%d" % count])
        edge.append(first)
        for i in range(1, count):
            o = g.order(buyer=buyer, seg=first["seg"], status="unpaid",
                        created=first["created"] + dt.timedelta(minutes=r.randint(2, 90)),
                        person=first["name"], tags=["multi_unpaid_%d" % count])
            o.update(address=first["address"], phone=first["phone"], email=first["email"],
                     alipay=first["alipay"])
            if o["created"] > M(20):
                o["created"] = M(20) - dt.timedelta(minutes=i)
            edge.append(o)

    # Buyers with an unpaid order and another order paid recently: 20 and 50 minutes
    # before now (inside the one-hour skip), and 65 minutes (just outside it).
    for paid_min, tag in ((20, "paid_20min_with_unpaid"), (50, "paid_50min_with_unpaid"),
                          (65, "paid_65min_with_unpaid")):
        buyer = g.nickname()
        u = g.order(buyer=buyer, status="unpaid", created=g.created_between(3 * 60, 22 * 60), tags=[tag])
        pc = M(paid_min + r.randint(3, 25)).replace(second=r.randint(0, 59))
        p = g.order(buyer=buyer, seg=u["seg"], big=False, status="paid", created=pc,
                    paid=M(paid_min), person=u["name"], reason="", tags=[tag])
        p.update(address=u["address"], phone=u["phone"], email=u["email"], alipay=u["alipay"])
        edge += [u, p]

    # Single buyers who paid within the last hour (nothing to remind).
    for paid_min in (5, 33, 58):
        pc = M(paid_min + r.randint(2, 40))
        edge.append(g.order(status="paid", created=pc.replace(microsecond=0), paid=M(paid_min),
                            tags=["paid_within_hour"]))

    # Habitual non-payers: closed orders earlier plus a new unpaid one.
    for closed_count in (2, 3, 2):
        buyer = g.nickname()
        u = g.order(buyer=buyer, status="unpaid", created=g.created_between(30, 12 * 60),
                    tags=["habitual_nonpayer"])
        edge.append(u)
        for i in range(closed_count):
            if i == 0 and closed_count == 3:
                # created 75 h ago, auto-closed by Taobao at 72 h
                c = M(75 * 60 + r.randint(0, 50)).replace(second=r.randint(0, 59))
                cl = c + AUTO_CLOSE
            else:
                c = g.created_between(26 * 60, 70 * 60)
                cl = c + dt.timedelta(minutes=r.randint(5, 300))
            o = g.order(buyer=buyer, seg=u["seg"], status="closed", created=c, closed=cl,
                        person=u["name"], tags=["habitual_nonpayer"])
            o.update(address=u["address"], phone=u["phone"], email=u["email"], alipay=u["alipay"])
            edge.append(o)

    # Still 等待买家付款 although created more than 72 h ago (auto-close edge), and one
    # 10 minutes short of the 72 h mark.
    for minutes in (72 * 60 + 5, 72 * 60 + 47, 74 * 60 + 12):
        edge.append(g.order(status="unpaid", created=M(minutes).replace(second=r.randint(0, 59)),
                            tags=["unpaid_over_72h"]))
    edge.append(g.order(status="unpaid", created=M(71 * 60 + 50), tags=["unpaid_71h50m"]))

    # Created 10 minutes before now.
    edge.append(g.order(status="unpaid", created=M(10), tags=["created_10min_ago"]))

    # Segment coverage that chance alone might miss.
    for item in BIG_ITEMS[:3]:
        edge.append(g.order(seg="student", big=True, item=item, status="unpaid",
                            tags=["student_big_ticket"]))
    edge.append(g.order(seg="residential", item=ITEM_999, status="unpaid", tags=["amount_999"]))
    edge.append(g.order(seg="residential", item=ITEM_1000, status="unpaid", tags=["amount_1000"]))
    for i in (0, 1, 4, 6, 9, 11):
        edge.append(g.order(seg="foreign", addr=FOREIGN_ADDRESSES[i], status="unpaid", tags=["foreign"]))
    edge.append(g.order(seg="residential", addr=(TRAP_ADDRESS, None), status="unpaid",
                        tags=["hongkong_road_trap"]))

    # Closed after a full refund: 交易关闭 with a pay time (more than a day ago).
    for _ in range(2):
        c = g.created_between(30 * 60, 60 * 60)
        edge.append(g.order(status="closed", created=c, paid=c + dt.timedelta(minutes=r.randint(1, 20)),
                            closed=c + dt.timedelta(hours=r.randint(4, 20)), reason="",
                            tags=["refunded_closed"]))

    # Receiver-name and phone edge cases.
    edge.append(g.order(seg="residential", status="unpaid", person=RARE_NAME, tags=["name_4byte_gb18030"]))
    for _ in range(2):
        edge.append(g.order(seg="residential", status="unpaid", person=g.person_name(4), tags=["name_4_chars"]))
    for _ in range(2):
        o = g.order(seg="residential", status="unpaid", tags=["no_phone"])
        o["phone"] = ""
        edge.append(o)

    # Notes that exercise CSV quoting.
    for note in ('请尽快发货，"周末"在家\n谢谢', "放门卫室就行\n谢谢老板", '尺寸: 60x40cm, 颜色: "燕麦色"'):
        o = g.order(status="unpaid", reason="other", tags=["note_csv_quoting"])
        o["note"] = note
        edge.append(o)

    if n_orders < len(edge) + 20:
        sys.exit("gen_sample.py: --orders must be at least %d (use --small for a tiny fixed file)"
                 % (len(edge) + 20))

    # Fill up to n_orders with exact status proportions: 70% unpaid, 10% closed.
    want = {"unpaid": round(n_orders * 0.70), "closed": round(n_orders * 0.10)}
    want["paid"] = n_orders - want["unpaid"] - want["closed"]
    have = {"unpaid": 0, "paid": 0, "closed": 0}
    for o in edge:
        have[STATUS_KIND[o["raw_status"]]] += 1
    fill = []
    for k in ("unpaid", "paid", "closed"):
        fill += [k] * max(0, want[k] - have[k])
    r.shuffle(fill)
    fill = fill[: n_orders - len(edge)]
    orders = edge + [g.order(status=k) for k in fill]
    orders += promo_and_second_shop_orders(g, seed, now, orders)

    # Taobao lists the newest order first.
    orders.sort(key=lambda o: (o["created"], o["id"]), reverse=True)

    # Malformed rows: see the module docstring.
    bad = []
    for kind in ("bad_amount", "bad_time", "missing_id", "unknown_status", "short_row"):
        o = g.order(status="unpaid", seg="residential", big=False)
        o["malformed"] = kind
        bad.append(o)
    bad[0]["goods_str"] = bad[0]["total_str"] = "12x.00"
    bad[1]["created_str"] = "2026-13-45 25:00:00"
    bad[2]["id"] = ""
    bad[3]["raw_status"] = "异常订单"

    records, kinds = [], []
    n = len(orders)
    positions = [int(n * f) for f in (0.35, 0.45, 0.55, 0.65, 0.75)]
    bi = 0
    for i, o in enumerate(orders):
        while bi < len(bad) and positions[bi] == i:
            # keep the newest-first order of the export around the malformed row
            bad[bi]["created"] = o["created"] + dt.timedelta(seconds=1)
            row = csv_row(bad[bi], promo=True)
            if bad[bi]["malformed"] == "short_row":
                row = row[:13]
            records.append(row)
            kinds.append(bad[bi])
            bi += 1
        records.append(csv_row(o, promo=True))
        kinds.append(o)
    return orders, bad, records, kinds


def promo_and_second_shop_orders(g, seed, now, orders):
    """大促 orders (pre-sale, flash sale) and a second shop, drawn from their own random
    stream so that the rest of the sample stays as it was."""
    h = Gen(seed + 1000, now)
    h.used_id_set = g.used_id_set
    M = lambda m: now - dt.timedelta(minutes=m)  # noqa: E731
    day = dt.datetime(now.year, now.month, now.day)
    out = []

    def add(o, **kw):
        o.update(kw)
        out.append(o)
        return o

    # Pre-sale (预售): the deposit was paid days ago (the order is older than 72 h and still
    # open); the balance (尾款) window opens tomorrow at 20:00, or opened tonight at 20:00.
    for created_min, opens, tag in ((4 * 24 * 60 + 35, day + dt.timedelta(days=1, hours=20), "presale_window_tomorrow"),
                                    (3 * 24 * 60 + 200, day + dt.timedelta(days=1, hours=20), "presale_window_tomorrow"),
                                    (5 * 24 * 60 + 10, day + dt.timedelta(hours=20), "presale_window_open")):
        o = h.order(seg="residential", big=False, status="unpaid", reason="", created=M(created_min), tags=[tag])
        add(o, otype=OT_PRESALE, bal_start=opens, bal_end=opens + dt.timedelta(days=2, hours=4) - dt.timedelta(seconds=1))
    o = h.order(seg="residential", big=False, status="paid", created=M(4 * 24 * 60 + 80), paid=M(300),
                reason="", tags=["presale_paid"])
    add(o, otype=OT_PRESALE, bal_start=day + dt.timedelta(hours=20) - dt.timedelta(days=1),
        bal_end=day + dt.timedelta(days=1, hours=20))

    # Flash sale (聚划算 / 秒杀): the order closes 30 minutes after it was placed.
    add(h.order(status="unpaid", reason="", created=M(8), tags=["flash_sale_open"]), otype=OT_FLASH)
    add(h.order(status="unpaid", reason="", created=M(50), tags=["flash_sale_expired"]), otype=OT_SECKILL)
    add(h.order(status="paid", reason="", created=M(120), paid=M(112), tags=["flash_sale_paid"]), otype=OT_SECKILL)

    # The second shop: one buyer of the first shop also has an unpaid order there (two
    # reminders, each signed by its own shop), plus a few orders of its own buyers.
    first = next(o for o in orders if o["raw_status"] == ST_UNPAID and not o["tags"] and o["phone"]
                 and o["seg"] == "residential" and now - o["created"] < dt.timedelta(hours=20))
    twin = h.order(buyer=first["buyer"], seg="residential", status="unpaid", person=first["name"],
                   created=M(95), reason="", tags=["second_shop_same_buyer"])
    twin.update(address=first["address"], phone=first["phone"], alipay=first["alipay"])
    add(twin, shop=SHOP2)
    for status in ("unpaid", "unpaid", "unpaid", "paid", "closed"):
        add(h.order(status=status, tags=["second_shop"]), shop=SHOP2)
    return out


def check_consistency(orders):
    """Every address and note says what the generator meant it to say."""
    for o in orders:
        tags = classify_address(o["address"])
        seg = o["seg"]
        if seg == "foreign":
            assert "foreign" in tags and "student" not in tags, o["address"]
        elif seg == "office":
            assert tags == ["office"], o["address"]
        elif seg == "student":
            assert tags == ["student"], o["address"]
        else:
            assert tags == [], o["address"]
        found = classify_note(o["note"])
        if o["reason"] in REASON_KW:
            assert found == [o["reason"]], o["note"]
        else:
            assert found == [], o["note"]
        assert len(o["id"]) == 19 and o["id"].isdigit()
        assert len(o["item"]) >= 30, o["item"]  # Taobao's limit is 60 bytes = 30 汉字
        if o["paid"]:
            assert o["created"] <= o["paid"], o
        if o["closed"]:
            assert o["created"] <= o["closed"], o
        assert o["phone"] == "" or (len(o["phone"]) == 11 and o["phone"].startswith("1"))


def summary(orders, bad, starts, kinds, now, seed, n_orders, csv_name, total_lines):
    lines = []
    add = lines.append
    add("gen_sample: seed=%d orders=%d now=%s shop=%s" % (seed, n_orders, now.strftime("%Y-%m-%d %H:%M"), SHOP))
    add("%s: %d data rows (%d good + %d malformed), header on line 1, %d physical lines"
        % (csv_name, len(kinds), len(orders), len(bad), total_lines))
    for o, line in zip(kinds, starts):
        if "malformed" in o:
            add("  malformed %-14s line %d" % (o["malformed"], line))

    def count(label, keyfn, items=orders):
        c = {}
        for o in items:
            for k in keyfn(o):
                c[k] = c.get(k, 0) + 1
        add("%s: %s" % (label, ", ".join("%s %d" % (k, v) for k, v in sorted(c.items(), key=lambda kv: -kv[1]))))

    count("status (raw)", lambda o: [o["raw_status"]])
    count("status", lambda o: [STATUS_KIND[o["raw_status"]]])

    def segs(o):
        t = classify_address(o["address"])
        if o["goods"] >= BIG_TICKET_FEN:
            t.append("big_ticket")
        return ["+".join(t) if t else "default"]
    count("segments (all orders, keyword match)", segs)
    unpaid = [o for o in orders if o["raw_status"] == ST_UNPAID]
    count("segments (unpaid orders)", segs, unpaid)
    count("reason in note (unpaid orders)", lambda o: [o["reason"] or "empty"], unpaid)
    count("reason in note (all orders)", lambda o: [o["reason"] or "empty"])
    add("notes with ASCII comma %d, double quote %d, line break %d, non-BMP char %d" % (
        sum("," in o["note"] for o in orders), sum('"' in o["note"] for o in orders),
        sum("\n" in o["note"] for o in orders), sum(any(ord(c) > 0xFFFF for c in o["note"]) for o in orders)))

    def name_kind(o):
        n = o["name"]
        if n.isascii():
            return ["latin"]
        return ["%d chars" % len(n)]
    count("receiver names", name_kind)
    add("no phone: %d (foreign %d, mainland %d); with e-mail: %d (foreign %d)" % (
        sum(not o["phone"] for o in orders),
        sum(not o["phone"] and o["seg"] == "foreign" for o in orders),
        sum(not o["phone"] and o["seg"] != "foreign" for o in orders),
        sum(bool(o["email"]) for o in orders),
        sum(bool(o["email"]) and o["seg"] == "foreign" for o in orders)))
    buyers = {}
    for o in orders:
        buyers.setdefault(o["buyer"], []).append(o)
    multi = [(b, len([o for o in os_ if o["raw_status"] == ST_UNPAID])) for b, os_ in buyers.items()]
    multi = [(b, k) for b, k in multi if k >= 2]
    add("buyers: %d distinct; with 2+ unpaid orders: %s" % (len(buyers), ", ".join("%s (%d)" % bk for bk in multi)))
    hour = now - dt.timedelta(hours=1)
    recent = [o for o in orders if o["paid"] and o["paid"] >= hour]
    add("paid within the last hour: %d orders (%s)" % (len(recent), ", ".join(
        "%s paid %s%s" % (o["buyer"], o["paid"].strftime("%H:%M"),
                          " +unpaid" if any(x["raw_status"] == ST_UNPAID for x in buyers[o["buyer"]]) else "")
        for o in sorted(recent, key=lambda o: o["paid"]))))
    p65 = [o for o in orders if "paid_65min_with_unpaid" in o["tags"] and o["paid"]]
    for o in p65:
        add("paid 65 min before now (outside the hour) with another unpaid order: %s" % o["buyer"])
    hab = [(b, sum(o["raw_status"] == ST_CLOSED for o in os_)) for b, os_ in buyers.items()
           if sum(o["raw_status"] == ST_CLOSED for o in os_) >= 2 and any(o["raw_status"] == ST_UNPAID for o in os_)]
    add("habitual non-payers (2+ closed + unpaid): %s" % ", ".join("%s (%d closed)" % h for h in hab))
    old = [o for o in unpaid if now - o["created"] > AUTO_CLOSE]
    add("unpaid created > 72 h before now: %d (%s)" % (len(old), ", ".join(fmt_time(o["created"]) for o in old)))
    near = [o for o in unpaid if dt.timedelta(hours=71) < now - o["created"] <= AUTO_CLOSE]
    add("unpaid created 71-72 h before now: %d (%s)" % (len(near), ", ".join(fmt_time(o["created"]) for o in near)))
    new = [o for o in orders if now - o["created"] <= dt.timedelta(minutes=15)]
    add("created within 15 min of now: %d (%s)" % (len(new), ", ".join(
        "%s %s" % (fmt_time(o["created"]), STATUS_KIND[o["raw_status"]]) for o in new)))
    closed_paid = [o for o in orders if o["raw_status"] == ST_CLOSED and o["paid"]]
    add("closed orders with a pay time (refunded): %d" % len(closed_paid))
    add("big-ticket threshold edges: %s" % ", ".join(
        "%s %s" % (fmt_money(o["goods"]), STATUS_KIND[o["raw_status"]]) for o in orders if o["goods"] in (99900, 100000)))
    add("trap: mainland address containing 香港 (not Hong Kong): %d" % sum(
        "香港" in o["address"] and not o["address"].startswith("香港") for o in orders))
    add("created_at range: %s .. %s" % (fmt_time(min(o["created"] for o in orders)),
                                        fmt_time(max(o["created"] for o in orders))))
    add("edge-case orders by CSV line (buyer: lines):")
    line_of = {id(o): line for o, line in zip(kinds, starts)}
    tags = []
    for o in orders:
        for t in o["tags"]:
            if t not in tags:
                tags.append(t)
    for t in tags:
        by_buyer = {}
        for o in orders:
            if t in o["tags"]:
                by_buyer.setdefault(o["buyer"], []).append(line_of[id(o)])
        add("  %-24s %s" % (t, "; ".join("%s: %s" % (b, ",".join(str(x) for x in sorted(ls)))
                                          for b, ls in by_buyer.items())))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------
# The fixed small set (--small). now = 2026-11-23 21:00 (a Monday). Each entry is
# written in this order; "expect" goes into taobao_small_expected.md.
SMALL_NOW = dt.datetime(2026, 11, 23, 21, 0)
_T = lambda s: dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S")  # noqa: E731
SMALL_ORDERS = [
    dict(id="3984217650000000001", buyer="tb_xiaoming88", name="张伟", status=ST_UNPAID,
         address="浙江省 杭州市 西湖区 文三路 478号 华星科技大厦 12楼", phone="13812345678",
         item=SMALL_ITEMS[0][0], goods=25900, created="2026-11-23 10:00:00", note="",
         segment="office", reason="none",
         expect="Use. Office worker (华星科技大厦), no reason in the note. Today's office SMS windows "
                "(12:00-13:30, 17:00-18:00) are past at 21:00, so an office-window reminder goes "
                "to the next window, 2026-11-24 12:00; auto-closes 2026-11-26 10:00."),
    dict(id="3984217650000000002", buyer="tb_combo", name="李娜", status=ST_UNPAID,
         address="江苏省 南京市 鼓楼区 中山北路 288号 颐和花园 3幢 502室", phone="13905171234",
         item=SMALL_ITEMS[1][0], goods=29900, created="2026-11-23 14:20:00",
         note="有点贵，能便宜点吗", segment="default", reason="price",
         expect="Use. tb_combo's first unpaid order: combine with order 3984217650000000007 "
                "(line 9) in ONE reminder (invariant 4); price-sensitive, so the message names "
                "the offer's end. Residential address: evening slot before 22:00."),
    dict(id="3984217650000000003", buyer="悠悠的猫", name="周晓雯", status=ST_UNPAID,
         address="上海 上海市 闵行区 莘庄镇 莘松路 958弄 梧桐苑 12号 601", phone="15821876543",
         item=SMALL_ITEMS[2][0], goods=5990, created="2026-11-23 19:05:00", note="",
         segment="default", reason="none",
         expect="Use, but SKIP: the same buyer paid order 3984217650000000004 at 20:40, "
                "20 minutes before now (a buyer who paid in the last hour is not reminded)."),
    dict(id="3984217650000000004", buyer="悠悠的猫", name="周晓雯", status=ST_PAID,
         address="上海 上海市 闵行区 莘庄镇 莘松路 958弄 梧桐苑 12号 601", phone="15821876543",
         item=SMALL_ITEMS[3][0], goods=3990, postage=500, created="2026-11-23 20:31:12",
         paid="2026-11-23 20:40:00", note="", segment="default", reason="none",
         expect="Use. Paid (买家已付款，等待卖家发货, total 44.90 = 39.90 + 5.00 postage): never "
                "reminded. Its pay time makes the planner skip this buyer's unpaid order (line 4)."),
    dict(id="3984217650000000005", buyer="lily_2019", name="欧阳娜娜", status=ST_UNPAID,
         address="广东省 广州市 天河区 天河北路 233号 紫荆花园 2栋 1104", phone="",
         item=SMALL_ITEMS[6][0], goods=33600, qty=2, created="2026-11-23 13:10:00",
         note='请尽快发货，"周末"在家\n谢谢', segment="default", reason="none",
         expect="Use. The record spans lines 6-7: the quoted note holds an embedded line break "
                "(bare LF) and doubled quotes; the note reads 请尽快发货，\"周末\"在家<LF>谢谢. "
                "4-character receiver name (compound surname 欧阳). No phone: no SMS possible; "
                "IM (or nothing) only. Quantity 2 x 168.00 = 336.00."),
    dict(id="3984217650000000006", buyer="tb_badrow", name="韩梅", status=ST_UNPAID,
         address="河南省 郑州市 金水区 农业路 56号 锦绣嘉园 8栋 2单元 301", phone="18637112345",
         item=SMALL_ITEMS[4][0], goods=12, goods_str="12x.00", created="2026-11-23 15:00:00",
         note="", segment="-", reason="-", malformed=True,
         expect="REJECT with line 8: 买家应付货款 (and 总金额) is \"12x.00\", not an amount. "
                "Every other row is still used."),
    dict(id="3984217650000000007", buyer="tb_combo", name="李娜", status=ST_UNPAID,
         address="江苏省 南京市 鼓楼区 中山北路 288号 颐和花园 3幢 502室", phone="13905171234",
         item=SMALL_ITEMS[3][0], goods=3990, postage=500, created="2026-11-23 14:26:40", note="",
         segment="default", reason="none",
         expect="Use. tb_combo's second unpaid order (39.90 + 5.00 postage; amount 39.90): "
                "part of the single combined reminder with line 3 (total goods 338.90)."),
    dict(id="3984217650000000008", buyer="jack_wu1990", name="吴杰", status=ST_CLOSED,
         address="四川省 成都市 武侯区 人民南路四段 12号 翠湖苑 5栋 801", phone="13688001234",
         item=SMALL_ITEMS[7][0], goods=7900, created="2026-11-22 09:15:00",
         closed="2026-11-22 11:02:13", note="", segment="default", reason="none",
         expect="Use. 交易关闭 (closed 2026-11-22 11:02:13): never reminded."),
    dict(id="3984217650000000009", buyer="tb_chenxi_2005", name="陈曦", status=ST_UNPAID,
         address="湖北省 武汉市 洪山区 珞喻路1037号 华中科技大学 紫菘学生公寓 8栋 宿舍312",
         phone="17786401234", item=SMALL_ITEMS[16][0], goods=4990, created="2026-11-23 16:40:00",
         note="这个月钱不够了，月底再付", segment="student", reason="balance",
         expect="Use. Student (华中科技大学 ... 宿舍), balance short (钱不够). Student/evening "
                "window ends at 22:00: a reminder can still go tonight between 21:00 and 22:00, "
                "else tomorrow evening; message gentle, no pressure."),
    dict(id="3984217650000000010", buyer="森林里的鹿", name="刘建国", status=ST_UNPAID,
         address="北京 北京市 朝阳区 望京街道 望京西园三区 312号楼 1单元 1802", phone="13501234567",
         item=BIG_ITEMS[0][0], goods=399900, created="2026-11-23 11:30:00",
         note="再考虑一下颜色，怕质量不好", segment="big_ticket", reason="hesitating",
         expect="Use. Big-ticket (3999.00 >= 1000.00) residential: a phone call task, within staff "
                "working hours, so not tonight: tomorrow 2026-11-24 during working hours. "
                "Hesitating (再考虑一下, 怕质量): reassure with 7-day returns / quality promise. "
                "运送方式 物流 (bulky goods)."),
    dict(id="3984217650000000011", buyer="mike_hk", name="Mike Chen", status=ST_UNPAID,
         address="香港特别行政区 九龙 油尖旺区 弥敦道132号 3楼B室", phone="",
         email="mike.chen@example.com", item=SMALL_ITEMS[22][0], goods=39900, postage=3000,
         created="2026-11-23 09:45:00", note="", segment="foreign", reason="none",
         expect="Use. Foreign / email-only buyer (香港特别行政区), Latin receiver name, no phone, "
                "买家邮箱 mike.chen@example.com: e-mail reminder (not at night). Amount 399.00 "
                "(总金额 429.00 with 30.00 postage)."),
    dict(id="3984217650000000012", buyer="小鱼儿~", name="赵敏", status=ST_UNPAID,
         address="安徽省 合肥市 蜀山区 长江西路 189号 世纪新城 6栋 3单元 1502", phone="18955123456",
         item=SMALL_ITEMS[18][0], goods=9900, created="2026-11-23 20:50:00", note="",
         segment="default", reason="none",
         expect="Use. Created 10 minutes before now: too fresh; a correct planner waits at least "
                "its minimum order age before any reminder (nothing due at 21:00 if that minimum "
                "is over 10 minutes), and it must not be skipped for good."),
    dict(id="3984217650000000013", buyer="tb_lazyfox", name="孙丽", status=ST_UNPAID,
         address="辽宁省 沈阳市 和平区 南京南街 77号 枫林小区 4栋 702", phone="13940211234",
         item=SMALL_ITEMS[12][0], goods=2590, postage=500, qty=1, created="2026-11-20 20:30:00",
         note="", segment="default", reason="none",
         expect="Use, but SKIP: still 等待买家付款 although created 72 h 30 min before now; Taobao "
                "closes unpaid orders after 72 h (2026-11-23 20:30), so it is past auto-close. "
                "No reminder."),
]


def small_order(d):
    created = _T(d["created"])
    o = {
        "id": d["id"], "buyer": d["buyer"], "name": d["name"], "raw_status": d["status"],
        "address": d["address"], "phone": d["phone"], "item": d["item"], "goods": d["goods"],
        "postage": d.get("postage", 0), "qty": d.get("qty", 1), "created": created,
        "paid": _T(d["paid"]) if d.get("paid") else None,
        "closed": _T(d["closed"]) if d.get("closed") else None, "note": d["note"],
        "email": d.get("email", ""), "remark": "", "logistics": "",
        "ship": "EMS" if d["segment"] == "foreign" else ("物流" if d["goods"] >= BIG_TICKET_FEN else "快递"),
    }
    o["alipay"] = ((d["phone"][:3] + "****" + d["phone"][-4:]) if d["phone"]
                   else d["buyer"][:2] + "***@example.com")
    if "goods_str" in d:
        o["goods_str"] = o["total_str"] = d["goods_str"]
    return o


# ---------------------------------------------------------------------------------
# Chat export (千牛 / 旺旺 chat records): one message per row, buyer / shop / bot.
CHAT_HEADER = ["买家", "时间", "发送方", "内容", "店铺", "订单号"]
CHAT_BOT = ["您好，欢迎光临青禾家居，请问有什么可以帮您？", "亲，客服小禾为您服务，稍等马上回复您",
            "您好，现在是自动回复，人工客服稍后为您解答"]
# Buyer lines per chat reason (the keyword rules in rules/policy.yaml find these), and
# what a person of the shop answers. None: the reason has no shop answer.
CHAT_BUYER = {
    "price": ["能便宜点吗，有点贵", "太贵了，再少点可以吗", "这个价格能抹零吗"],
    "balance": ["余额不够，等发工资再付", "花呗额度用完了，过两天付", "这个月钱不够了，月底付"],
    "delivery": ["什么时候发货呀", "几天能到？急用", "拍了以后多久到上海"],
    "spec": ["这个尺寸合适吗，卧室不大", "60公分的放得下吗", "这个规格是单人还是双人"],
    "comparing": ["我再去别家看看", "别的店同款好像更便宜，我比较一下", "货比三家，晚点回来"],
    "coupon": ["有优惠券吗", "等双十二活动再付", "有没有满减"],
    "other_payer": ["我让我老公付", "找朋友代付可以吗", "等我妈付款"],
    "forgot": ["忘了付款，晚上付", "哎呀忘记了", "差点忘了，回头就付"],
    "payment_failed": ["付款失败了，怎么回事", "一直支付失败", "银行卡付不了"],
    "will_not_buy": ["不好意思拍错了", "不要了，谢谢", "算了不买了"],
    "complaint": ["上次买的就有问题，我要投诉", "再这样我给差评了"],
    "": ["在吗", "这个有现货吗", "好的谢谢", "收到"],
}
CHAT_SHOP = {
    "price": "亲，这款已经是店铺的活动价了，质量您放心",
    "balance": "没关系的，订单会为您保留，方便时再付就好",
    "delivery": "付款后我们尽快安排发货，物流信息会同步到订单里",
    "spec": "您把房间尺寸发我，我帮您核对一下",
    "comparing": "好的，您可以比较一下，有问题随时问我",
    "coupon": "店铺可用的优惠都在商品页面，您可以看一下",
    "other_payer": "好的，代付的亲友在订单关闭前付款就可以",
    "forgot": "好的，订单给您留着",
    "payment_failed": "可以换一种付款方式试试，还不行的话截图发我",
    "will_not_buy": "好的，没关系，有需要再找我们",
    "complaint": "非常抱歉给您带来不好的体验，我们马上为您处理",
    "": "在的，您请说",
}


def build_chat(orders, seed, now):
    """A chat export for some of the sample's buyers: rows (list of fields) and a summary."""
    r = random.Random(seed * 7919 + 17)  # its own stream: the order export stays as it was
    rows = []  # (time, fields)
    by_buyer = {}
    for o in orders:
        by_buyer.setdefault(o["buyer"], []).append(o)
    told = {}
    for buyer in sorted(by_buyer):
        unpaid = [o for o in by_buyer[buyer] if o["raw_status"] == ST_UNPAID and o["created"] + AUTO_CLOSE > now]
        if not unpaid or r.random() > 0.55:
            continue
        first = min(unpaid, key=lambda o: o["created"])
        reasons = ["price", "balance", "delivery", "spec", "comparing", "coupon", "other_payer", "forgot",
                   "payment_failed", "will_not_buy", "complaint", ""]
        why = r.choices(reasons, [10, 9, 9, 8, 7, 8, 5, 6, 5, 6, 2, 12])[0]
        told[why] = told.get(why, 0) + 1
        t = first["created"] - dt.timedelta(minutes=r.randint(2, 40))
        def say(sender, text, at):
            rows.append((at, [buyer, fmt_time(at), sender, text, SHOP, ""]))
        say("买家", r.choice(CHAT_BUYER[""][:2]), t)
        say("机器人", r.choice(CHAT_BOT), t + dt.timedelta(seconds=3))
        t = first["created"] + dt.timedelta(minutes=r.randint(3, 60))
        if t >= now:
            t = now - dt.timedelta(minutes=1)
        say("买家", r.choice(CHAT_BUYER[why]), t)
        if r.random() < 0.7:
            answer = t + dt.timedelta(minutes=r.randint(1, 20))
            if answer < now:
                say("客服", CHAT_SHOP[why], answer)
    rows.sort(key=lambda x: (x[0], x[1][0]))
    return [f for _, f in rows], told


def render_chat(rows):
    lines = [",".join(CHAT_HEADER)] + [",".join(csv_field(v) for v in row) for row in rows]
    return "\r\n".join(lines) + "\r\n"


# The chat of the small set: (buyer, time, sender, text, order id); None marks a malformed row.
SMALL_CHAT = [
    ("tb_xiaoming88", "2026-11-23 10:02:10", "机器人", "您好，欢迎光临青禾家居，请问有什么可以帮您？", ""),
    ("tb_xiaoming88", "2026-11-23 10:03:00", "买家", "这个床头柜什么时候发货？急用，电话13812345678", ""),
    ("tb_xiaoming88", "2026-11-23 10:05:30", "客服", "您好，付款后我们尽快安排发货，物流信息会同步到订单里", ""),
    ("tb_xiaoming88", "2026-11-23 10:06:00", "买家", "好的，下班再付", ""),
    ("lily_2019", "2026-11-23 13:20:00", "买家", "不好意思，拍错了，这单不要了", "3984217650000000005"),
    ("tb_combo", "2026-11-23 14:31:00", "客服", "亲，现在下单满300有满减优惠", ""),
    ("tb_ghost", "2026-11-23 25:61:00", "买家", "在吗", ""),
    ("tb_chenxi_2005", "2026-11-23 16:45:00", "买家", "我让我妈付，她明天帮我付款", ""),
    ("tb_chenxi_2005", "2026-11-23 16:46:00", "路人甲", "？", ""),
    ("mike_hk", "2026-11-23 10:10:00", "买家", "付款失败了，收据请发邮箱mike.chen@example.com", ""),
    ("悠悠的猫", "2026-11-23 19:06:00", "机器人", "亲，客服小禾为您服务，稍等马上回复您", ""),
]


def write_small_chat(out_dir):
    rows = [[b, t, s, x, SHOP, oid] for b, t, s, x, oid in SMALL_CHAT]
    path = out_dir / "taobao_small_chat.csv"
    path.write_bytes(render_chat(rows).encode("utf-8"))
    return path


def write_small(out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    orders = [small_order(d) for d in SMALL_ORDERS]
    for d in SMALL_ORDERS:
        tags = classify_address(d["address"])
        want = {"office": ["office"], "student": ["student"], "foreign": ["foreign"]}.get(d["segment"], [])
        assert tags == want or d.get("malformed"), (d["address"], tags)
        assert (d["goods"] >= BIG_TICKET_FEN) == (d["segment"] == "big_ticket"), d["id"]
        found = classify_note(d["note"])
        assert found == ([d["reason"]] if d["reason"] in REASON_KW else []) or d.get("malformed"), d["note"]
    text, starts = render_csv([csv_row(o) for o in orders])
    # the expectations below refer to these lines
    assert starts == [2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15], starts
    csv_path = out_dir / "taobao_small_gb18030.csv"
    csv_path.write_bytes(text.encode("gb18030"))
    good = [d for d in SMALL_ORDERS if not d.get("malformed")]
    md = []
    md.append("# taobao_small_gb18030.csv: expected results\n")
    md.append("Generated by `tools/gen_sample.py --small` (a fixed set written out in the generator, "
              "`SMALL_ORDERS`). Do not edit by hand: change the generator and rerun it.\n")
    md.append("- Encoding GB18030 (no BOM), CRLF record terminators; the one embedded line break "
              "inside a quoted note is a bare LF.")
    md.append("- now = **2026-11-23 21:00** (Monday). Shop 店铺名称 = %s for every row." % SHOP)
    md.append("- Line numbers are physical lines, header = line 1; a record's line is where it starts.")
    md.append("- %d records on %d physical lines: **%d good orders, 1 rejected row (line %d)**."
              % (len(orders), text.count("\n"), len(good),
                 [s for d, s in zip(SMALL_ORDERS, starts) if d.get("malformed")][0]))
    md.append("- 联系手机 is written `'138...` (leading apostrophe); a reader returns the 11 digits. "
              "Amount = 买家应付货款 (goods), in fen internally.")
    md.append("- Planner expectations assume the default rules in rules/ (office SMS "
              "12:00-13:30 / 17:00-18:00; students and others in the evening before 22:00; no "
              "reminder at night; phone only for big-ticket orders in staff hours; e-mail for "
              "foreign buyers; skip a buyer who paid any order in the last hour; one combined "
              "reminder per buyer; Taobao auto-closes unpaid orders 72 h after creation).\n")
    md.append("| line | 订单编号 | 买家会员名 | 收货人 | 订单状态 | 买家应付货款 | 订单创建时间 | segment | reason |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    for d, s in zip(SMALL_ORDERS, starts):
        line = "%d-%d" % (s, s + d["note"].count("\n")) if "\n" in d["note"] else str(s)
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            line, d["id"], d["buyer"], d["name"], d["status"], d.get("goods_str") or fmt_money(d["goods"]),
            d["created"], d["segment"], d["reason"]))
    md.append("\n## What a correct reader / planner does with each record\n")
    for d, s in zip(SMALL_ORDERS, starts):
        md.append("- **line %d**, %s (%s): %s" % (s, d["id"], d["buyer"], d["expect"]))
    md.append("\n## Totals a test can assert\n")
    md.append("- reader: %d orders, 1 rejected (line %d, bad amount); encoding detected as gb18030."
              % (len(good), [s for d, s in zip(SMALL_ORDERS, starts) if d.get("malformed")][0]))
    md.append("- statuses: unpaid %d, paid %d, closed %d." % (
        sum(d["status"] == ST_UNPAID for d in good), sum(STATUS_KIND[d["status"]] == "paid" for d in good),
        sum(d["status"] == ST_CLOSED for d in good)))
    md.append("- unpaid orders: 10, of 9 buyers. Skipped: 悠悠的猫 (line 4: paid another order 20 min "
              "ago) and tb_lazyfox (line 15: past the 72 h auto-close). Reminded (one reminder per "
              "buyer): tb_xiaoming88 (line 2), tb_combo (lines 3 + 9, ONE combined reminder), "
              "lily_2019 (line 6, no phone: no SMS), tb_chenxi_2005 (line 11), 森林里的鹿 (line 12, "
              "phone call task), mike_hk (line 13, e-mail), and 小鱼儿~ (line 14) only once it is "
              "older than the minimum order age. So 6 buyers planned at once + 1 deferred.")
    md.append("- segments by address/amount: office 1 (line 2), student 1 (line 11), big-ticket 1 "
              "(line 12), foreign 1 (line 13), default the rest.")
    md.append("- reasons in notes: price (line 3), balance (line 11), hesitating (line 12); others none.")
    md.append("\n## The chat export taobao_small_chat.csv (UTF-8, `SMALL_CHAT`)\n")
    md.append("- line 3: tb_xiaoming88 asks when it ships (delivery) and gives a phone number: the "
              "reason is delivery, quoted with the number masked (138****5678); the office SMS "
              "tomorrow uses office_worker.delivery.")
    md.append("- line 6: lily_2019 wrote 拍错了，这单不要了 about order 3984217650000000005: skipped "
              "(stop will_not_buy), not reminded.")
    md.append("- line 7: a shop message about a discount: not the buyer's words; tb_combo's reason stays "
              "price (from the note).")
    md.append("- line 8: bad time 25:61: REJECTED; line 10: unknown sender 路人甲: REJECTED.")
    md.append("- line 9: tb_chenxi_2005, after her note (balance), wrote that her mother pays: the "
              "latest word wins, reason other_payer, template student.other_payer.")
    md.append("- line 11: mike_hk: payment failed; the foreign e-mail has no payment_failed variant, so "
              "the base template foreign is used and the why says so.")
    md_path = out_dir / "taobao_small_expected.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    chat_path = write_small_chat(out_dir)
    print("wrote %s (%d records, lines %s), %s and %s" % (csv_path, len(orders), starts, chat_path, md_path),
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--orders", type=int, default=300, help="number of good orders (malformed rows come on top)")
    ap.add_argument("--now", default="2026-11-23 21:00", help='export time, "YYYY-MM-DD HH:MM"')
    ap.add_argument("--out-dir", default=None, help="default: <repo>/data (or <repo>/tests/data with --small)")
    ap.add_argument("--encoding", choices=["gb18030", "utf-8"], default="gb18030")
    ap.add_argument("--small", action="store_true",
                    help="write the fixed hand-checkable set taobao_small_gb18030.csv + expected.md")
    a = ap.parse_args()
    try:
        now = dt.datetime.strptime(a.now, "%Y-%m-%d %H:%M")
    except ValueError:
        try:
            now = dt.datetime.strptime(a.now, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            ap.error('--now must be "YYYY-MM-DD HH:MM"')
    if a.small:
        if now != SMALL_NOW:
            ap.error("--small is a fixed set for now = 2026-11-23 21:00; --now cannot change it")
        write_small(Path(a.out_dir) if a.out_dir else REPO / "tests" / "data")
        return
    out_dir = Path(a.out_dir) if a.out_dir else REPO / "data"
    out_dir.mkdir(parents=True, exist_ok=True)
    orders, bad, records, kinds = build_sample(a.seed, a.orders, now)
    check_consistency(orders)
    text, starts = render_csv(records, HEADER + PROMO_HEADER)
    (out_dir / "sample_orders.csv").write_bytes(text.encode(a.encoding))
    (out_dir / "sample_orders.jsonl").write_text("".join(json_line(o) + "\n" for o in orders),
                                                 encoding="utf-8", newline="\n")
    print(summary(orders, bad, starts, kinds, now, a.seed, a.orders, "sample_orders.csv",
                  text.count("\n")), file=sys.stderr)
    chat_rows, told = build_chat(orders, a.seed, now)
    # Two malformed rows a reader must reject with their line: a bad time and an unknown sender.
    for at, row in ((len(chat_rows) // 3, ["tb_ghost", "2026-11-23 25:61:00", "买家", "在吗", SHOP, ""]),
                    (2 * len(chat_rows) // 3, ["tb_ghost", "2026-11-23 12:00:00", "路人甲", "？", SHOP, ""])):
        chat_rows.insert(at, row)
    chat_text = render_chat(chat_rows)
    (out_dir / "sample_chat.csv").write_bytes(chat_text.encode(a.encoding))
    bad_lines = [i + 2 for i, row in enumerate(chat_rows) if row[0] == "tb_ghost"]
    print("sample_chat.csv: %d messages of %d buyers (%s); malformed rows on lines %s" % (
        len(chat_rows) - 2, sum(told.values()),
        ", ".join("%s %d" % (k or "no reason", v) for k, v in sorted(told.items())), bad_lines), file=sys.stderr)


if __name__ == "__main__":
    main()
